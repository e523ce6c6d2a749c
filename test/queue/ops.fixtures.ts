// A hospital with a doctor, a session and today's queue holding N booked patients, written straight to
// the database (the live-queue tests do not depend on the booking API).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { hashToken, newOpaqueToken } from '../../src/lib/tokens.js';
import { insertHospital, insertSession, insertSessionDay } from '../helpers/clinic.js';
import { type Backend, databaseBackends, hasRedis } from '../helpers/services.js';
import { makeUser, type TestUser } from '../helpers/users.js';

export const ZONE = 'Asia/Dhaka';

/** Each database backend with the memory store, and Postgres with the Redis store when Redis is up. */
export async function storeSetups(): Promise<{ name: string; backend: Backend; redis: boolean }[]> {
  const list: { name: string; backend: Backend; redis: boolean }[] = [];
  for (const backend of await databaseBackends()) {
    list.push({ name: `${backend} + memory store`, backend, redis: false });
    if (backend === 'postgres' && (await hasRedis()))
      list.push({ name: 'postgres + redis store', backend, redis: true });
  }
  return list;
}

export interface Patient extends TestUser {
  name: string;
  appointmentId: string;
  serial: number;
  trackingToken: string;
}

export interface QueueFixture {
  hospitalId: string;
  otherHospitalId: string;
  queueId: string;
  date: string;
  doctor: TestUser;
  otherDoctor: TestUser;
  staff: TestUser;
  otherStaff: TestUser;
  admin: TestUser;
  patients: Patient[];
}

/** Creates a queue on `now`'s local date (or `dateOffsetDays` later) with `count` booked patients. */
export async function queueFixture(
  app: FastifyInstance,
  options: { count?: number; now?: Date; dateOffsetDays?: number } = {},
): Promise<QueueFixture> {
  const count = options.count ?? 5;
  const now = DateTime.fromJSDate(options.now ?? app.clock.now(), { zone: ZONE });
  const day = now.plus({ days: options.dateOffsetDays ?? 0 }).startOf('day');
  const date = day.toISODate()!;
  const hospitalId = await insertHospital(app, {
    name: `General ${randomBytes(3).toString('hex')}`,
    timezone: ZONE,
  });
  const otherHospitalId = await insertHospital(app, {
    name: `Other ${randomBytes(3).toString('hex')}`,
    timezone: ZONE,
  });
  const doctor = await makeUser(app, 'doctor', { name: 'Dr. Queue' });
  const otherDoctor = await makeUser(app, 'doctor', { name: 'Dr. Other' });
  const staff = await makeUser(app, 'staff', { hospitalId });
  const otherStaff = await makeUser(app, 'staff', { hospitalId: otherHospitalId });
  const admin = await makeUser(app, 'admin');
  const sessionId = await insertSession(app, {
    doctorId: doctor.doctorId!,
    hospitalId,
    weekday: day.weekday,
    start: '00:00',
    end: '23:00',
    slotMinutes: 10,
    capacity: 100,
    room: '204',
  });
  const startsAt = day.toJSDate();
  const queueId = await insertSessionDay(app, {
    sessionId,
    doctorId: doctor.doctorId!,
    hospitalId,
    date,
    startsAt,
    endsAt: day.plus({ hours: 23 }).toJSDate(),
    capacity: 100,
    slotMinutes: 10,
    bookedCount: count,
  });
  const patients: Patient[] = [];
  for (let serial = 1; serial <= count; serial++) {
    const name = `Patient ${serial} ${randomBytes(2).toString('hex')}`;
    const user = await makeUser(app, 'patient', { name });
    const trackingToken = newOpaqueToken();
    const appointment = await app.db
      .insertInto('appointments')
      .values({
        queueId,
        doctorId: doctor.doctorId!,
        date,
        profileId: user.profileId!,
        bookedBy: user.id,
        serial,
        positionKey: serial,
        estimatedAt: startsAt,
        trackingTokenHash: hashToken(trackingToken),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    patients.push({ ...user, name, appointmentId: appointment.id, serial, trackingToken });
  }
  return {
    hospitalId,
    otherHospitalId,
    queueId,
    date,
    doctor,
    otherDoctor,
    staff,
    otherStaff,
    admin,
    patients,
  };
}
