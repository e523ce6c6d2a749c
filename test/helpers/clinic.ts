// Clinic rows for tests, written straight to the database (no dependence on the directory or schedule
// routes): hospitals, catalog entries, verified doctors, weekly sessions and session days. The fixtures of
// each test folder compose these; a field left out takes the column's default.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { makeUser, type TestUser } from './users.js';

export interface HospitalValues {
  /** @default 'Hospital <random>' */
  name?: string;
  /** @default 'Dhaka' */
  city?: string;
  /** @default 'Asia/Dhaka' */
  timezone?: string;
  /** Local 'HH:MM' start of quiet hours; set together with quietEnd. */
  quietStart?: string;
  quietEnd?: string;
}

export async function insertHospital(app: FastifyInstance, values: HospitalValues = {}): Promise<string> {
  const row = await app.db
    .insertInto('hospitals')
    .values({
      name: values.name ?? `Hospital ${randomBytes(3).toString('hex')}`,
      city: values.city ?? 'Dhaka',
      timezone: values.timezone ?? 'Asia/Dhaka',
      ...(values.quietStart ? { quietStart: values.quietStart, quietEnd: values.quietEnd } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertCatalog(
  app: FastifyInstance,
  table: 'specializations' | 'qualifications' | 'services',
  name: string,
): Promise<string> {
  const row = await app.db.insertInto(table).values({ name }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export interface DoctorValues {
  /** @default 'Dr. Test' */
  name?: string;
  specializationIds?: string[];
  licenseNo?: string;
  phone?: string;
  /** @default true */
  verified?: boolean;
}

/** A doctor through the real sign-up (verified unless told otherwise), signed in. */
export async function makeDoctor(
  app: FastifyInstance,
  values: DoctorValues = {},
): Promise<TestUser & { doctorId: string }> {
  const { specializationIds = [], name = 'Dr. Test', ...extra } = values;
  const user = await makeUser(app, 'doctor', { name, ...extra });
  if (!user.doctorId) throw new Error('doctor has no doctorId');
  const doctorId = user.doctorId;
  for (const specializationId of specializationIds)
    await app.db.insertInto('doctorSpecializations').values({ doctorId, specializationId }).execute();
  return { ...user, doctorId };
}

export interface SessionValues {
  doctorId: string;
  hospitalId: string;
  /** ISO weekday, 1 = Monday. */
  weekday: number;
  /** Local 'HH:MM'. @default '09:00' */
  start?: string;
  /** Local 'HH:MM'. @default '12:00' */
  end?: string;
  /** @default 10 */
  slotMinutes?: number;
  /** @default 18 */
  capacity?: number;
  fee?: number;
  room?: string | null;
  validFrom?: string | null;
  validTo?: string | null;
  bookingOpensDays?: number;
  bookingClosesMinutes?: number;
  /** A removed session (deleted_at set). @default false */
  deleted?: boolean;
}

/** A weekly session; returns its id. */
export async function insertSession(app: FastifyInstance, values: SessionValues): Promise<string> {
  const row = await app.db
    .insertInto('sessions')
    .values({
      doctorId: values.doctorId,
      hospitalId: values.hospitalId,
      weekday: values.weekday,
      startTime: values.start ?? '09:00',
      endTime: values.end ?? '12:00',
      slotMinutes: values.slotMinutes ?? 10,
      capacity: values.capacity ?? 18,
      fee: values.fee,
      room: values.room,
      validFrom: values.validFrom,
      validTo: values.validTo,
      bookingOpensDays: values.bookingOpensDays,
      bookingClosesMinutes: values.bookingClosesMinutes,
      deletedAt: values.deleted ? new Date() : undefined,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface SessionDayValues {
  sessionId: string;
  doctorId: string;
  hospitalId: string;
  date: string;
  startsAt: Date | string;
  endsAt: Date | string;
  capacity: number;
  slotMinutes: number;
  /** @default 0 */
  bookedCount?: number;
  /** @default bookedCount + 1 */
  nextSerial?: number;
  status?: 'open' | 'closed' | 'cancelled';
}

/** A session on one date: the queue. Returns its id (the queueId). */
export async function insertSessionDay(app: FastifyInstance, values: SessionDayValues): Promise<string> {
  const bookedCount = values.bookedCount ?? 0;
  const row = await app.db
    .insertInto('sessionDays')
    .values({
      sessionId: values.sessionId,
      doctorId: values.doctorId,
      hospitalId: values.hospitalId,
      date: values.date,
      startsAt: values.startsAt,
      endsAt: values.endsAt,
      capacity: values.capacity,
      slotMinutes: values.slotMinutes,
      bookedCount,
      nextSerial: values.nextSerial ?? bookedCount + 1,
      status: values.status,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
