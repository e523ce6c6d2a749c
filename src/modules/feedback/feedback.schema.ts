import { Type } from '@sinclair/typebox';
import { Instant, LocalDate, Nullable, PageQuery, Uuid } from '../../lib/schema.js';

const Stars = (description: string) => Type.Integer({ minimum: 1, maximum: 5, description });

export const FeedbackBodySchema = Type.Object(
  {
    rating: Stars('The visit overall, 1 (poor) to 5 (excellent)'),
    waitRating: Stars('The wait, 1 (far too long) to 5 (no wait to speak of)'),
    comment: Type.Optional(Type.String({ maxLength: 2000, description: 'Seen by the hospital only' })),
    wouldRecommend: Type.Optional(Type.Boolean({ description: 'Would recommend this doctor to a friend' })),
  },
  { additionalProperties: false },
);

export const FeedbackSchema = Type.Object(
  {
    id: Uuid,
    appointmentId: Uuid,
    hospitalId: Uuid,
    doctor: Type.Object({ id: Uuid, name: Type.String() }),
    patientName: Nullable(Type.String()),
    visitDate: LocalDate,
    rating: Type.Integer(),
    waitRating: Type.Integer(),
    comment: Type.String(),
    wouldRecommend: Nullable(Type.Boolean()),
    via: Type.Union([Type.Literal('app'), Type.Literal('link')], {
      description: "Given signed in, or through the feedback message's link",
    }),
    createdAt: Instant,
  },
  { description: "A patient's private feedback on a visit (not the public doctor review)" },
);

export const FeedbackListQuerySchema = Type.Object(
  {
    hospitalId: Type.Optional(
      Type.String({ format: 'uuid', description: "One hospital's (staff: only their own; another is 403)" }),
    ),
    doctorId: Type.Optional(Type.String({ format: 'uuid', description: "One doctor's" })),
    from: Type.Optional(Type.String({ format: 'date', description: 'Visits on or after this local date' })),
    to: Type.Optional(Type.String({ format: 'date', description: 'Visits on or before this local date' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const FeedbackLinkParams = Type.Object({
  token: Type.String({
    minLength: 20,
    maxLength: 100,
    description: "The token of the feedback message's link",
  }),
});

export const FeedbackLinkSchema = Type.Object({
  doctorName: Type.String(),
  hospitalName: Type.String(),
  visitDate: LocalDate,
  used: Type.Boolean({ description: 'Feedback was already given: the link takes no more' }),
  expiresAt: Instant,
});
