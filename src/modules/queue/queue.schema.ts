// Live-queue request/response schemas and the Socket.IO event contract (design §3 "Live queues", §4).
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Instant, LocalDate, Nullable, PageQuery, PersonName, PhoneInput, Uuid } from '../../lib/schema.js';
import { APPOINTMENT_STATUSES } from '../appointments/appointments.table.js';

export const REASON_CODES = [
  'emergency',
  'returning_with_results',
  'elderly_disabled',
  'staff_decision',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export const QUEUE_UPDATE_TYPES = [
  'booked',
  'walk_in',
  'cancelled',
  'confirmed',
  'checked_in',
  'called',
  'completed',
  'skipped',
  'no_show',
  'recalled',
  'paused',
  'resumed',
  'closed',
  'rebuilt',
] as const;

const literals = <T extends readonly string[]>(values: T) => Type.Union(values.map((v) => Type.Literal(v)));

const ReasonSchema = Type.Union(
  REASON_CODES.map((r) => Type.Literal(r)),
  { description: 'Why an entry is served out of order (kept in the fairness log)' },
);
const QueueStatusSchema = literals(['open', 'paused', 'closed', 'cancelled'] as const);
const AppointmentStatusSchema = literals(APPOINTMENT_STATUSES);

export const QueueParamsSchema = Type.Object({ queueId: Uuid });
export const EntryParamsSchema = Type.Object({ queueId: Uuid, appointmentId: Uuid });
export const AppointmentParamsSchema = Type.Object({ id: Uuid });
export const TrackParamsSchema = Type.Object({
  trackingToken: Type.String({ minLength: 16, maxLength: 128 }),
});

export const IfMatchHeadersSchema = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      maxLength: 40,
      description: 'The queue version the caller last saw; a stale one answers 409 VERSION_CONFLICT',
    }),
  ),
});

const PreviousSchema = Type.Union([Type.Literal('complete'), Type.Literal('skip'), Type.Literal('no-show')], {
  description:
    'What happens to the patient still being served when another is called: completed (default), skipped or no-show. At most one patient is called at a time.',
});

export const ReasonBodySchema = Type.Object(
  { reason: Type.Optional(ReasonSchema), previous: Type.Optional(PreviousSchema) },
  { additionalProperties: false },
);

export const CallNextBodySchema = Type.Object(
  { previous: Type.Optional(PreviousSchema) },
  { additionalProperties: false },
);

export const WalkInBodySchema = Type.Object(
  {
    name: PersonName,
    phone: Type.Optional(PhoneInput),
    profileId: Type.Optional(Uuid),
    priority: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 100, description: 'Above 0 goes before every ordinary entry' }),
    ),
    reason: Type.Optional(ReasonSchema),
  },
  { additionalProperties: false },
);

export const PauseBodySchema = Type.Object(
  {
    message: Type.Optional(Type.String({ maxLength: 500 })),
    until: Type.Optional(Instant),
  },
  { additionalProperties: false },
);

export const CloseBodySchema = Type.Object(
  {
    remaining: literals(['no_show', 'keep'] as const),
  },
  { additionalProperties: false },
);

export const QueueListQuerySchema = Type.Object(
  {
    date: Type.Optional(LocalDate),
    hospitalId: Type.Optional(Uuid),
    doctorId: Type.Optional(Uuid),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const QueueSummarySchema = Type.Object({
  id: Uuid,
  queueId: Uuid,
  date: Type.String(),
  hospitalId: Uuid,
  hospitalName: Type.String(),
  doctorId: Uuid,
  doctorName: Type.String(),
  sessionId: Uuid,
  room: Nullable(Type.String()),
  startsAt: Instant,
  endsAt: Instant,
  status: QueueStatusSchema,
  version: Type.Integer(),
  nowServing: Nullable(Type.Integer()),
  bookedCount: Type.Integer(),
  capacity: Type.Integer(),
});

export const SnapshotEntrySchema = Type.Object({
  serial: Type.Integer(),
  status: AppointmentStatusSchema,
  position: Nullable(Type.Integer()),
  appointmentId: Type.Optional(Uuid),
  name: Type.Optional(Type.String()),
  kind: Type.Optional(literals(['booked', 'walk_in'] as const)),
  priority: Type.Optional(Type.Integer()),
});

export const SnapshotSchema = Type.Object({
  queueId: Uuid,
  version: Type.Integer(),
  status: QueueStatusSchema,
  date: Type.String(),
  nowServing: Nullable(Type.Integer()),
  avgConsultSeconds: Type.Integer(),
  waiting: Type.Integer(),
  paused: Type.Boolean(),
  notice: Nullable(Type.String()),
  pausedUntil: Nullable(Instant),
  entries: Type.Array(SnapshotEntrySchema),
});

export const QueueUpdateSchema = Type.Object({
  queueId: Uuid,
  version: Type.Integer(),
  type: literals(QUEUE_UPDATE_TYPES),
  serial: Nullable(Type.Integer()),
  appointmentId: Type.Optional(Uuid),
  status: Type.String({ description: "The entry's new appointment status, or the queue's for queue events" }),
  after: Type.Optional(Nullable(Type.Integer())),
  nowServing: Nullable(Type.Integer()),
  waiting: Type.Integer(),
  avgConsultSeconds: Type.Integer(),
  paused: Type.Boolean(),
  at: Instant,
});

export const OperationResultSchema = Type.Object({
  queueId: Uuid,
  version: Type.Integer(),
  type: literals(QUEUE_UPDATE_TYPES),
  appointmentId: Nullable(Uuid),
  serial: Nullable(Type.Integer()),
  status: Type.String(),
});

export const WalkInResultSchema = Type.Object({
  id: Uuid,
  queueId: Uuid,
  version: Type.Integer(),
  serial: Type.Integer(),
  status: AppointmentStatusSchema,
  priority: Type.Integer(),
  trackingToken: Type.String({ description: 'Give it to the patient: /track/<token> follows the queue' }),
});

export const EtaRangeSchema = Type.Object({ from: Instant, to: Instant });

/**
 * `schema` or null as a list of types rather than Nullable's anyOf: the response serializer picks an anyOf
 * branch by validating every value, which was most of its cost for /track, the read every phone polls.
 */
const OrNull = <T extends TSchema & { type: string }>(schema: T) =>
  Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });

export const TrackViewSchema = Type.Object({
  appointmentId: Uuid,
  queueId: Uuid,
  version: Type.Integer(),
  date: Type.String(),
  serial: Type.Integer(),
  status: AppointmentStatusSchema,
  position: OrNull(Type.Integer()),
  nowServing: OrNull(Type.Integer()),
  etaAt: OrNull(Instant),
  etaRange: OrNull(EtaRangeSchema),
  seenOutOfOrder: OrNull(
    Type.Integer({
      minimum: 0,
      description:
        'While waiting: patients called out of order (with a reason code) since this one joined the line; nobody is named',
    }),
  ),
  queueStatus: QueueStatusSchema,
  notice: OrNull(Type.String()),
  doctorName: Type.String(),
  hospitalName: Type.String(),
  room: OrNull(Type.String()),
});

export type WalkInBody = Static<typeof WalkInBodySchema>;
export type PauseBody = Static<typeof PauseBodySchema>;
export type CloseBody = Static<typeof CloseBodySchema>;
export type QueueListQuery = Static<typeof QueueListQuerySchema>;
export type QueueSummary = Static<typeof QueueSummarySchema>;
export type SnapshotEntry = Static<typeof SnapshotEntrySchema>;
export type Snapshot = Static<typeof SnapshotSchema>;
export type QueueUpdate = Static<typeof QueueUpdateSchema>;
export type QueueUpdateType = (typeof QUEUE_UPDATE_TYPES)[number];
export type OperationResult = Static<typeof OperationResultSchema>;
export type WalkInResult = Static<typeof WalkInResultSchema>;
export type TrackView = Static<typeof TrackViewSchema>;

// ---- Socket.IO contract (default namespace) ----

/** `{ ok: true, …result }` or `{ error: { code, message } }`. */
export type Ack<T> = (result: ({ ok: true } & T) | { error: { code: string; message: string } }) => void;

export interface AppointmentWatchView {
  appointmentId: string;
  queueId: string;
  serial: number;
  status: string;
  position: number | null;
  nowServing: number | null;
  etaAt: string | null;
  /** While waiting: patients called out of order since this one joined the line; else null. */
  seenOutOfOrder: number | null;
  version: number;
}

export interface AppointmentUpdate {
  appointmentId: string;
  queueId: string;
  status: string;
  serial: number;
  position: number | null;
  etaAt: string | null;
  /** While waiting: patients called out of order since this one joined the line; else null. */
  seenOutOfOrder: number | null;
  version: number;
  /** Why this update was sent. */
  reason: 'status' | 'next' | 'turn_near';
}

export interface DoctorNotice {
  queueId: string;
  message: string | null;
  until?: string | null;
  paused: boolean;
}

export interface ClientToServerEvents {
  'queue:watch': (payload: { queueId: string }, ack: Ack<Snapshot>) => void;
  'queue:unwatch': (payload: { queueId: string }, ack: Ack<{ queueId: string }>) => void;
  'appointment:watch': (payload: { appointmentId: string }, ack: Ack<AppointmentWatchView>) => void;
  'appointment:unwatch': (payload: { appointmentId: string }, ack: Ack<{ appointmentId: string }>) => void;
  'hospital:watch': (payload: { hospitalId: string }, ack: Ack<{ hospitalId: string }>) => void;
  /** A fresh access token for this socket (before or after the old one expires); rights follow the account. */
  'auth:refresh': (payload: { token: string }, ack: Ack<{ role: string; expiresAt: string }>) => void;
}

/** Why a socket's rights shrank: its token expired, its account was disabled, or its role or hospital changed. */
export interface AuthChanged {
  reason: 'expired' | 'disabled' | 'changed';
  /** The role the socket now acts with; null when it is a guest (a tracking link still follows its appointment). */
  role: 'patient' | 'doctor' | 'staff' | 'admin' | null;
}

export interface ServerToClientEvents {
  'queue:update': (update: QueueUpdate) => void;
  'appointment:update': (update: AppointmentUpdate) => void;
  'doctor:notice': (notice: DoctorNotice) => void;
  /** Rights dropped without a reconnect: watch again (or send `auth:refresh`) for the new view. */
  'auth:changed': (notice: AuthChanged) => void;
}

/** Instances tell each other only that an account changed (each re-checks its own sockets of it). */
export interface InterServerEvents {
  'account:changed': (userId: string) => void;
}

export interface SocketData {
  /** The signed-in account (access token handshake), else null; its rights are re-read at each privileged event. */
  userId: string | null;
  /** When that access token expires (ms since the epoch, on the server's clock); null for guests. */
  expiresAt: number | null;
  /** The appointment a tracking-token handshake follows, else null. */
  trackedAppointmentId: string | null;
  /** The per-connection rate limit (a token bucket kept as plain numbers: no object per socket). */
  tokens: number;
  refilledAt: number;
  refused: number;
}
