// A hospital with a doctor, a session and today's queue holding N booked patients, written straight to
// the database (the live-queue tests do not depend on the booking API).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { hashToken, newOpaqueToken } from '../../src/lib/tokens.js';
import { makeUser, type TestUser } from '../helpers/users.js';

export const ZONE = 'Asia/Dhaka';

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

async function hospital(app: FastifyInstance, name: string): Promise<string> {
  const row = await app.db
    .insertInto('hospitals')
    .values({ name, city: 'Dhaka', timezone: ZONE })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
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
  const hospitalId = await hospital(app, `General ${randomBytes(3).toString('hex')}`);
  const otherHospitalId = await hospital(app, `Other ${randomBytes(3).toString('hex')}`);
  const doctor = await makeUser(app, 'doctor', { name: 'Dr. Queue' });
  const otherDoctor = await makeUser(app, 'doctor', { name: 'Dr. Other' });
  const staff = await makeUser(app, 'staff', { hospitalId });
  const otherStaff = await makeUser(app, 'staff', { hospitalId: otherHospitalId });
  const admin = await makeUser(app, 'admin');
  const session = await app.db
    .insertInto('sessions')
    .values({
      doctorId: doctor.doctorId!,
      hospitalId,
      weekday: day.weekday,
      startTime: '00:00',
      endTime: '23:00',
      slotMinutes: 10,
      capacity: 100,
      room: '204',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const startsAt = day.toJSDate();
  const queue = await app.db
    .insertInto('sessionDays')
    .values({
      sessionId: session.id,
      doctorId: doctor.doctorId!,
      hospitalId,
      date,
      startsAt,
      endsAt: day.plus({ hours: 23 }).toJSDate(),
      capacity: 100,
      slotMinutes: 10,
      nextSerial: count + 1,
      bookedCount: count,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const patients: Patient[] = [];
  for (let serial = 1; serial <= count; serial++) {
    const name = `Patient ${serial} ${randomBytes(2).toString('hex')}`;
    const user = await makeUser(app, 'patient', { name });
    const trackingToken = newOpaqueToken();
    const appointment = await app.db
      .insertInto('appointments')
      .values({
        queueId: queue.id,
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
    queueId: queue.id,
    date,
    doctor,
    otherDoctor,
    staff,
    otherStaff,
    admin,
    patients,
  };
}
