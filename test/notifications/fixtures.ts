// Rows for notification tests, written directly (hospital, doctor, session, queue day, appointment), and the
// domain events emitted through app.events.transaction exactly as the booking and queue modules emit them.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { recordQueueEvent } from '../../src/modules/day/day.repository.js';
import { insertHospital, insertSession, insertSessionDay } from '../helpers/clinic.js';
import { makeUser, type TestUser } from '../helpers/users.js';

export interface Clinic {
  hospitalId: string;
  doctorId: string;
  doctor: TestUser;
  sessionId: string;
  timezone: string;
}

export async function seedClinic(
  app: FastifyInstance,
  opts: { timezone?: string; quietStart?: string; quietEnd?: string; doctorPhone?: string } = {},
): Promise<Clinic> {
  const timezone = opts.timezone ?? 'Asia/Dhaka';
  const hospitalId = await insertHospital(app, {
    name: 'Green Life Hospital',
    timezone,
    quietStart: opts.quietStart,
    quietEnd: opts.quietEnd,
  });
  const doctor = await makeUser(app, 'doctor', { name: 'Dr. Karim', phone: opts.doctorPhone });
  const sessionId = await insertSession(app, {
    doctorId: doctor.doctorId as string,
    hospitalId,
    weekday: 1,
    start: '09:00',
    end: '17:00',
    slotMinutes: 15,
    capacity: 32,
    room: '12',
  });
  return { hospitalId, doctorId: doctor.doctorId as string, doctor, sessionId, timezone };
}

export async function queueDay(app: FastifyInstance, clinic: Clinic, date: string): Promise<string> {
  const existing = await app.db
    .selectFrom('sessionDays')
    .select('id')
    .where('sessionId', '=', clinic.sessionId)
    .where('date', '=', date)
    .executeTakeFirst();
  if (existing) return existing.id;
  const start = DateTime.fromISO(`${date}T09:00`, { zone: clinic.timezone });
  return insertSessionDay(app, {
    sessionId: clinic.sessionId,
    doctorId: clinic.doctorId,
    hospitalId: clinic.hospitalId,
    date,
    startsAt: start.toJSDate(),
    endsAt: start.plus({ hours: 8 }).toJSDate(),
    capacity: 32,
    slotMinutes: 15,
  });
}

let serialCounter = 0;

export interface Booked {
  appointmentId: string;
  queueId: string;
  serial: number;
  trackingToken: string;
}

/** Inserts an appointment and emits appointment.booked in the same transaction, as the booking module does. */
export async function book(
  app: FastifyInstance,
  clinic: Clinic,
  patient: TestUser,
  estimatedAt: Date,
  opts: { fee?: number; walkInPhone?: string } = {},
): Promise<Booked> {
  const date = DateTime.fromJSDate(estimatedAt, { zone: clinic.timezone }).toISODate() as string;
  const queueId = await queueDay(app, clinic, date);
  const serial = ++serialCounter;
  const trackingToken = randomBytes(12).toString('base64url');
  const appointmentId = await app.events.transaction(app.db, async (trx, emit) => {
    const row = await trx
      .insertInto('appointments')
      .values({
        queueId,
        doctorId: clinic.doctorId,
        date,
        profileId: patient.profileId ?? null,
        bookedBy: patient.id,
        serial,
        positionKey: serial,
        estimatedAt,
        trackingTokenHash: randomBytes(16).toString('hex'),
        fee: opts.fee ?? 0,
        ...(opts.walkInPhone ? { kind: 'walk_in' as const, walkInPhone: opts.walkInPhone } : {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await emit('appointment.booked', { appointmentId: row.id, queueId, actorId: patient.id, trackingToken });
    return row.id;
  });
  return { appointmentId, queueId, serial, trackingToken };
}

export async function cancel(app: FastifyInstance, booked: Booked, reason = 'Cancelled by the patient') {
  await app.events.transaction(app.db, async (trx, emit) => {
    await trx
      .updateTable('appointments')
      .set({ status: 'cancelled', cancelledAt: app.clock.now(), cancelReason: reason })
      .where('id', '=', booked.appointmentId)
      .execute();
    await emit('appointment.cancelled', {
      appointmentId: booked.appointmentId,
      queueId: booked.queueId,
      actorId: null,
      reason,
    });
  });
}

/** A queue change as the live queue emits it (version bumped, queue_events row, then queue.changed). */
export async function queueChange(
  app: FastifyInstance,
  queueId: string,
  type: 'called' | 'completed' | 'paused' | 'checked_in' | 'confirmed',
  appointmentId?: string,
  change?: { status?: 'called' | 'completed' | 'checked_in' | 'confirmed'; notice?: string },
) {
  await app.events.transaction(app.db, async (trx, emit) => {
    if (appointmentId && change?.status)
      await trx
        .updateTable('appointments')
        .set({ status: change.status })
        .where('id', '=', appointmentId)
        .execute();
    if (type === 'paused')
      await trx
        .updateTable('sessionDays')
        .set({ status: 'paused', notice: change?.notice ?? null })
        .where('id', '=', queueId)
        .execute();
    const version = await recordQueueEvent(trx, { queueId, type, appointmentId });
    await emit('queue.changed', { queueId, version, type, appointmentId });
  });
}

export async function outbox(app: FastifyInstance, appointmentId?: string) {
  let q = app.db.selectFrom('notificationOutbox').selectAll().orderBy('sendAfter').orderBy('dedupeKey');
  if (appointmentId) q = q.where('appointmentId', '=', appointmentId);
  return q.execute();
}

/** A valid Bangladeshi mobile number, distinct per i. */
export function bdPhone(i: number): string {
  return `+8801711${String(100000 + i).slice(-6)}`;
}
