// Hospitals, doctors, sessions and many patients for the scheduling and booking tests, written straight to
// the database (no dependence on the directory routes; no scrypt per patient).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DUMMY_HASH } from '../../src/lib/password.js';
import { makeUser, type TestUser } from '../helpers/users.js';

export async function makeHospital(
  app: FastifyInstance,
  extra: { timezone?: string; city?: string; name?: string } = {},
): Promise<string> {
  const row = await app.db
    .insertInto('hospitals')
    .values({
      name: extra.name ?? `Hospital ${randomBytes(3).toString('hex')}`,
      city: extra.city ?? 'Dhaka',
      timezone: extra.timezone ?? 'Asia/Dhaka',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function makeSpecialization(app: FastifyInstance, name: string): Promise<string> {
  const row = await app.db
    .insertInto('specializations')
    .values({ name })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function makeDoctor(
  app: FastifyInstance,
  extra: { specializationIds?: string[]; name?: string } = {},
): Promise<TestUser & { doctorId: string }> {
  const doctor = await makeUser(app, 'doctor', { name: extra.name ?? 'Dr. Test' });
  const doctorId = doctor.doctorId as string;
  for (const specializationId of extra.specializationIds ?? [])
    await app.db.insertInto('doctorSpecializations').values({ doctorId, specializationId }).execute();
  return { ...doctor, doctorId };
}

export interface SessionSpec {
  doctorId: string;
  hospitalId: string;
  weekday: number;
  start?: string;
  end?: string;
  slotMinutes?: number;
  capacity?: number;
  fee?: number;
  room?: string | null;
  validFrom?: string | null;
  validTo?: string | null;
  bookingOpensDays?: number;
  bookingClosesMinutes?: number;
}

export async function makeSession(app: FastifyInstance, spec: SessionSpec): Promise<string> {
  const row = await app.db
    .insertInto('sessions')
    .values({
      doctorId: spec.doctorId,
      hospitalId: spec.hospitalId,
      weekday: spec.weekday,
      startTime: spec.start ?? '09:00',
      endTime: spec.end ?? '12:00',
      slotMinutes: spec.slotMinutes ?? 10,
      capacity: spec.capacity ?? 18,
      fee: spec.fee ?? 500,
      room: spec.room === undefined ? '101' : spec.room,
      validFrom: spec.validFrom ?? null,
      validTo: spec.validTo ?? null,
      bookingOpensDays: spec.bookingOpensDays ?? 30,
      bookingClosesMinutes: spec.bookingClosesMinutes ?? 0,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface FastPatient {
  id: string;
  profileId: string;
  auth: { authorization: string };
}

/** Patients with a self profile and a signed access token, inserted in bulk. */
export async function makePatients(app: FastifyInstance, count: number): Promise<FastPatient[]> {
  const tag = randomBytes(4).toString('hex');
  const out: FastPatient[] = [];
  for (let start = 0; start < count; start += 200) {
    const n = Math.min(200, count - start);
    const users = await app.db
      .insertInto('users')
      .values(
        Array.from({ length: n }, (_, i) => ({
          email: `bulk-${tag}-${start + i}@example.test`,
          passwordHash: DUMMY_HASH,
          role: 'patient' as const,
          name: `Patient ${start + i}`,
        })),
      )
      .returning('id')
      .execute();
    const profiles = await app.db
      .insertInto('patientProfiles')
      .values(users.map((u, i) => ({ accountId: u.id, isSelf: true, name: `Patient ${start + i}` })))
      .returning(['id', 'accountId'])
      .execute();
    const profileOf = new Map(profiles.map((p) => [p.accountId, p.id]));
    for (const u of users) {
      const token = app.signAccessToken({ id: u.id, role: 'patient' });
      out.push({
        id: u.id,
        profileId: profileOf.get(u.id) as string,
        auth: { authorization: `Bearer ${token}` },
      });
    }
  }
  return out;
}

export async function addDependent(app: FastifyInstance, accountId: string, name = 'Child'): Promise<string> {
  const row = await app.db
    .insertInto('patientProfiles')
    .values({ accountId, name, relation: 'child' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
