// Directory fixtures: hospitals, catalogs, sessions and completed visits written straight to the database
// (the schedule and booking modules own those flows; the directory only reads their rows).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  insertSession as insertClinicSession,
  insertSessionDay as insertClinicSessionDay,
  insertHospital,
  makeDoctor as makeClinicDoctor,
} from '../helpers/clinic.js';
import type { TestUser } from '../helpers/users.js';

/** An evening session (17:00–20:00 local unless told), 10-minute slots, 18 places. */
export async function insertSession(
  app: FastifyInstance,
  values: {
    doctorId: string;
    hospitalId: string;
    weekday: number;
    capacity?: number;
    validFrom?: string | null;
    validTo?: string | null;
    deleted?: boolean;
    /** Local 'HH:MM'. @default '17:00' */
    startTime?: string;
    bookingOpensDays?: number;
    bookingClosesMinutes?: number;
  },
): Promise<string> {
  const { startTime, ...rest } = values;
  return insertClinicSession(app, { ...rest, start: startTime ?? '17:00', end: '20:00', slotMinutes: 10 });
}

export async function insertSessionDay(
  app: FastifyInstance,
  values: {
    sessionId: string;
    date: string;
    bookedCount?: number;
    capacity?: number;
    status?: 'open' | 'closed' | 'cancelled';
  },
): Promise<string> {
  const session = await app.db
    .selectFrom('sessions')
    .selectAll()
    .where('id', '=', values.sessionId)
    .executeTakeFirstOrThrow();
  return insertClinicSessionDay(app, {
    sessionId: session.id,
    doctorId: session.doctorId,
    hospitalId: session.hospitalId,
    date: values.date,
    startsAt: `${values.date}T11:00:00Z`,
    endsAt: `${values.date}T14:00:00Z`,
    capacity: values.capacity ?? session.capacity,
    slotMinutes: session.slotMinutes,
    bookedCount: values.bookedCount,
    status: values.status ?? 'open',
  });
}

let serialSeq = 1;

/** An appointment of `patient` with this doctor, in a queue of its own; completed unless told otherwise. */
export async function insertAppointment(
  app: FastifyInstance,
  values: {
    doctorId: string;
    patient: TestUser;
    hospitalId?: string;
    date?: string;
    status?: 'completed' | 'booked' | 'cancelled';
    completedAt?: Date;
  },
): Promise<string> {
  const hospitalId = values.hospitalId ?? (await insertHospital(app));
  const date = values.date ?? '2026-01-05';
  const weekday = ((new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7) + 1;
  // A removed session: the visit happened, but it must not make the doctor look available anywhere.
  const sessionId = await insertSession(app, {
    doctorId: values.doctorId,
    hospitalId,
    weekday,
    deleted: true,
  });
  const queueId = await insertSessionDay(app, { sessionId, date });
  const status = values.status ?? 'completed';
  const serial = serialSeq++;
  const row = await app.db
    .insertInto('appointments')
    .values({
      queueId,
      doctorId: values.doctorId,
      date,
      profileId: values.patient.profileId ?? null,
      bookedBy: values.patient.id,
      serial,
      positionKey: serial,
      status,
      estimatedAt: `${date}T11:00:00Z`,
      trackingTokenHash: randomBytes(16).toString('hex'),
      completedAt: status === 'completed' ? (values.completedAt ?? new Date(`${date}T12:00:00Z`)) : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** A verified doctor (through the real sign-up) with the given name. */
export async function makeDoctor(
  app: FastifyInstance,
  name: string,
  extra: { licenseNo?: string; verified?: boolean } = {},
) {
  return makeClinicDoctor(app, { name, ...extra });
}

/** A verified doctor written straight to the tables (no password hashing): for tests that need many. */
export async function insertDoctor(app: FastifyInstance, name: string): Promise<string> {
  const user = await app.db
    .insertInto('users')
    .values({
      email: `doc-${randomBytes(6).toString('hex')}@example.test`,
      passwordHash: 'x',
      role: 'doctor',
      name,
      phone: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const doctor = await app.db
    .insertInto('doctors')
    .values({ userId: user.id, name, licenseNo: null, verifiedAt: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return doctor.id;
}

/** A multipart body with one file field, built by hand so the test controls every byte. */
export function multipart(field: string, filename: string, type: string, bytes: Buffer) {
  const boundary = `----cqtest${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
      `Content-Type: ${type}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    payload: Buffer.concat([head, bytes, tail]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** Bytes that sniff as a PNG. */
export const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(200, 7),
]);
