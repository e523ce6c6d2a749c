import { Type } from '@sinclair/typebox';
import { ClockTime, Instant, LocalDate, Nullable, PageQuery, Uuid } from '../../lib/schema.js';
import { OUTBOX_STATUSES } from './notifications.table.js';
import { KINDS, LANGUAGES } from './notifications.templates.js';

const ChannelSchema = Type.Union([Type.Literal('sms'), Type.Literal('email')]);
const StatusSchema = Type.Union(OUTBOX_STATUSES.map((s) => Type.Literal(s)));
const KindSchema = Type.Union(KINDS.map((k) => Type.Literal(k)));
const LanguageSchema = Type.Union(LANGUAGES.map((l) => Type.Literal(l)));
/** Minutes before the estimated time; up to a week. */
const Offset = Type.Integer({ minimum: 5, maximum: 10080 });

export const NotificationSchema = Type.Object(
  {
    id: Uuid,
    kind: Type.String(),
    channel: ChannelSchema,
    status: StatusSchema,
    to: Type.String({ description: 'Masked recipient' }),
    appointmentId: Type.Optional(Uuid),
    sendAfter: Instant,
    sentAt: Type.Optional(Instant),
    attempts: Type.Integer(),
    lastError: Type.Optional(Type.String()),
    createdAt: Instant,
  },
  { additionalProperties: false },
);

export const NotificationQuerySchema = Type.Object(
  {
    status: Type.Optional(StatusSchema),
    kind: Type.Optional(KindSchema),
    appointmentId: Type.Optional(Uuid),
    date: Type.Optional(LocalDate),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const PreferencesSchema = Type.Object(
  {
    channels: Type.Array(ChannelSchema, { minItems: 1, maxItems: 2 }),
    reminderOffsets: Type.Array(Offset, { maxItems: 5, description: 'Minutes before the estimated time' }),
    quietStart: Nullable(ClockTime),
    quietEnd: Nullable(ClockTime),
    language: LanguageSchema,
  },
  { additionalProperties: false },
);

export const PreferencesPatchSchema = Type.Partial(PreferencesSchema, {
  additionalProperties: false,
  minProperties: 1,
});

/** Twilio's status callback (form encoded); other fields Twilio sends are accepted and ignored. */
export const TwilioStatusSchema = Type.Object({
  MessageSid: Type.String({ pattern: '^[A-Za-z0-9]{10,64}$' }),
  MessageStatus: Type.String({ minLength: 1, maxLength: 32 }),
  ErrorCode: Type.Optional(Type.String({ maxLength: 16 })),
});

/** Twilio's incoming message webhook (form encoded). */
export const TwilioInboundSchema = Type.Object({
  From: Type.String({ minLength: 3, maxLength: 32 }),
  Body: Type.String({ maxLength: 1600 }),
  MessageSid: Type.Optional(Type.String({ maxLength: 64 })),
});
