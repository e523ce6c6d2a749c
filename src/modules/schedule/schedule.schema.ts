import { Type } from '@sinclair/typebox';
import { ClockTime, Instant, LocalDate, Nullable, PageQuery, Uuid } from '../../lib/schema.js';

const Weekday = Type.Integer({ minimum: 1, maximum: 7, description: 'ISO weekday, 1 = Monday … 7 = Sunday' });
const Fee = Type.Number({ minimum: 0, maximum: 99_999_999 });

export const HospitalRefSchema = Type.Object({ id: Uuid, name: Type.String(), city: Type.String() });

export const SessionSchema = Type.Object({
  id: Uuid,
  doctorId: Uuid,
  hospitalId: Uuid,
  hospital: Type.Object({ id: Uuid, name: Type.String(), city: Type.String(), timezone: Type.String() }),
  weekday: Weekday,
  start: ClockTime,
  end: ClockTime,
  slotMinutes: Type.Integer(),
  capacity: Type.Integer(),
  fee: Type.Number(),
  room: Nullable(Type.String()),
  validFrom: Nullable(LocalDate),
  validTo: Nullable(LocalDate),
  bookingOpensDays: Type.Integer(),
  bookingClosesMinutes: Type.Integer(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('confirmed')], {
    description:
      "pending: entered by the doctor, waiting for the hospital's staff or an admin to confirm it; only " +
      'confirmed sessions of verified doctors are bookable or listed',
  }),
  confirmedAt: Nullable(Instant),
});

export const PendingSessionSchema = Type.Object({
  ...SessionSchema.properties,
  doctor: Type.Object({ id: Uuid, name: Type.String() }),
});

export const PendingSessionsQuerySchema = Type.Object(
  { hospitalId: Type.Optional(Uuid) },
  { additionalProperties: false },
);

const sessionFields = {
  weekday: Weekday,
  start: ClockTime,
  end: ClockTime,
  slotMinutes: Type.Integer({ minimum: 1, maximum: 480 }),
  capacity: Type.Integer({ minimum: 1, maximum: 10_000 }),
  fee: Fee,
  room: Nullable(Type.String({ minLength: 1, maxLength: 100 })),
  validFrom: Nullable(LocalDate),
  validTo: Nullable(LocalDate),
  bookingOpensDays: Type.Integer({ minimum: 0, maximum: 365 }),
  bookingClosesMinutes: Type.Integer({
    minimum: -1440,
    maximum: 10_080,
    description: 'Booking closes this many minutes before the start (negative: after it)',
  }),
};

export const SessionCreateSchema = Type.Object(
  {
    hospitalId: Uuid,
    weekday: sessionFields.weekday,
    start: sessionFields.start,
    end: sessionFields.end,
    slotMinutes: sessionFields.slotMinutes,
    capacity: Type.Optional(sessionFields.capacity),
    fee: Type.Optional(sessionFields.fee),
    room: Type.Optional(sessionFields.room),
    validFrom: Type.Optional(sessionFields.validFrom),
    validTo: Type.Optional(sessionFields.validTo),
    bookingOpensDays: Type.Optional(sessionFields.bookingOpensDays),
    bookingClosesMinutes: Type.Optional(sessionFields.bookingClosesMinutes),
  },
  { additionalProperties: false },
);

export const SessionUpdateSchema = Type.Object(
  {
    hospitalId: Type.Optional(Uuid),
    weekday: Type.Optional(sessionFields.weekday),
    start: Type.Optional(sessionFields.start),
    end: Type.Optional(sessionFields.end),
    slotMinutes: Type.Optional(sessionFields.slotMinutes),
    capacity: Type.Optional(sessionFields.capacity),
    fee: Type.Optional(sessionFields.fee),
    room: Type.Optional(sessionFields.room),
    validFrom: Type.Optional(sessionFields.validFrom),
    validTo: Type.Optional(sessionFields.validTo),
    bookingOpensDays: Type.Optional(sessionFields.bookingOpensDays),
    bookingClosesMinutes: Type.Optional(sessionFields.bookingClosesMinutes),
    cancelAffected: Type.Optional(
      Type.Boolean({
        description: 'Cancel (and notify) bookings the change would invalidate instead of refusing',
      }),
    ),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const SessionDeleteQuerySchema = Type.Object(
  {
    cancelAffected: Type.Optional(Type.Boolean()),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const SessionChangeResultSchema = Type.Object({
  session: SessionSchema,
  cancelledAppointmentIds: Type.Array(Uuid),
});

export const TimeOffSchema = Type.Object({
  id: Uuid,
  doctorId: Uuid,
  hospitalId: Nullable(
    Type.String({
      format: 'uuid',
      description:
        "Entered at this hospital's desk: covers only its sessions. Null: every session of the doctor",
    }),
  ),
  from: LocalDate,
  to: LocalDate,
  reason: Type.String(),
  createdAt: Instant,
});

export const TimeOffCreateSchema = Type.Object(
  {
    from: LocalDate,
    to: LocalDate,
    reason: Type.Optional(Type.String({ maxLength: 500 })),
    hospitalId: Type.Optional(
      Type.String({
        format: 'uuid',
        description:
          "Only this hospital's sessions (staff: always their own hospital's). Omitted by the doctor or an admin: all",
      }),
    ),
  },
  { additionalProperties: false },
);

export const TimeOffCreatedSchema = Type.Object({
  ...TimeOffSchema.properties,
  cancelledAppointmentIds: Type.Array(Uuid),
});

export const TimeOffQuerySchema = Type.Object(
  {
    from: Type.Optional(LocalDate),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const OpeningSchema = Type.Object({
  sessionId: Uuid,
  doctorId: Uuid,
  queueId: Nullable(Uuid),
  date: LocalDate,
  start: Instant,
  end: Instant,
  capacity: Type.Integer(),
  booked: Type.Integer(),
  remaining: Type.Integer(),
  nextSerial: Nullable(Type.Integer()),
  nextEstimatedAt: Nullable(Instant),
  fee: Type.Number(),
  hospital: HospitalRefSchema,
  room: Nullable(Type.String()),
});

export const SerialsQuerySchema = Type.Object({ date: LocalDate }, { additionalProperties: false });

export const FreeSerialSchema = Type.Object({
  serial: Type.Integer({ minimum: 1 }),
  estimatedAt: Instant,
});

export const FreeSerialsSchema = Type.Object({
  items: Type.Array(FreeSerialSchema, {
    description: 'Free serials in order, with their scheduled times (never before now); empty when full',
  }),
  nextCursor: Type.Null(),
});

export const DoctorAvailabilityQuerySchema = Type.Object(
  { from: LocalDate, to: LocalDate },
  { additionalProperties: false },
);

export const DayAvailabilityQuerySchema = Type.Object(
  {
    date: LocalDate,
    specialization: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'id or name' })),
    city: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    serviceId: Type.Optional(Uuid),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const DayOpeningSchema = Type.Object({
  ...OpeningSchema.properties,
  doctor: Type.Object({ id: Uuid, name: Type.String() }),
});
