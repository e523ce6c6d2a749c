import { Type } from '@sinclair/typebox';
import { Instant, LocalDate, Nullable, PageQuery, Uuid } from '../../lib/schema.js';
import { APPOINTMENT_STATUSES, WAITLIST_STATUSES } from './appointments.table.js';

const Status = Type.Union(APPOINTMENT_STATUSES.map((s) => Type.Literal(s)));

export const AppointmentSchema = Type.Object({
  id: Uuid,
  queueId: Uuid,
  sessionId: Uuid,
  doctorId: Uuid,
  doctor: Type.Object({ id: Uuid, name: Type.String() }),
  hospital: Type.Object({ id: Uuid, name: Type.String(), city: Type.String(), timezone: Type.String() }),
  room: Nullable(Type.String()),
  profileId: Nullable(Uuid),
  patientName: Nullable(Type.String()),
  bookedBy: Nullable(Uuid),
  serviceId: Nullable(Uuid),
  date: LocalDate,
  serial: Type.Integer(),
  kind: Type.Union([Type.Literal('booked'), Type.Literal('walk_in')]),
  status: Status,
  estimatedAt: Instant,
  fee: Type.Number(),
  cancelReason: Nullable(Type.String()),
  bookedAt: Instant,
  confirmedAt: Nullable(Instant),
  cancelledAt: Nullable(Instant),
});

export const BookedAppointmentSchema = Type.Object({
  ...AppointmentSchema.properties,
  trackingToken: Type.String({
    description: 'Shown once; follow the appointment at /v1/track/:trackingToken',
  }),
});

export const BookingBodySchema = Type.Object(
  {
    sessionId: Uuid,
    date: LocalDate,
    profileId: Type.Optional(Uuid),
    serviceId: Type.Optional(Uuid),
    serial: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10_000, description: 'A specific free serial' }),
    ),
  },
  { additionalProperties: false },
);

export const IdempotencyHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

export const RescheduleBodySchema = Type.Object(
  { sessionId: Uuid, date: LocalDate },
  { additionalProperties: false },
);

export const CancelBodySchema = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
  { additionalProperties: false },
);

export const AppointmentListQuerySchema = Type.Object(
  {
    date: Type.Optional(LocalDate),
    from: Type.Optional(LocalDate),
    to: Type.Optional(LocalDate),
    status: Type.Optional(Type.Array(Status, { maxItems: 8, description: 'repeat or comma-free list' })),
    doctorId: Type.Optional(Uuid),
    hospitalId: Type.Optional(Uuid),
    profileId: Type.Optional(Uuid),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const WaitlistEntrySchema = Type.Object({
  id: Uuid,
  queueId: Uuid,
  profileId: Uuid,
  status: Type.Union(WAITLIST_STATUSES.map((s) => Type.Literal(s))),
  offeredAt: Nullable(Instant),
  offerExpiresAt: Nullable(Instant),
  appointmentId: Nullable(Uuid),
  createdAt: Instant,
});

export const WaitlistJoinBodySchema = Type.Object(
  { profileId: Type.Optional(Uuid) },
  { additionalProperties: false },
);

export const QueueIdParams = Type.Object({ queueId: Uuid });
