// Hospitals, doctors, sessions and many patients for the scheduling and booking tests, written straight to
// the database (no dependence on the directory routes; no scrypt per patient).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DUMMY_HASH } from '../../src/lib/password.js';
import {
  insertCatalog,
  insertHospital,
  insertSession,
  makeDoctor as makeClinicDoctor,
  type SessionValues,
} from '../helpers/clinic.js';
import type { TestUser } from '../helpers/users.js';

export const makeHospital = insertHospital;

export const makeSpecialization = (app: FastifyInstance, name: string): Promise<string> =>
  insertCatalog(app, 'specializations', name);

export const makeDoctor = (
  app: FastifyInstance,
  extra: { specializationIds?: string[]; name?: string } = {},
): Promise<TestUser & { doctorId: string }> => makeClinicDoctor(app, extra);

export type SessionSpec = Omit<SessionValues, 'deleted'>;

/** A weekly session with the booking tests' defaults: a 500 fee in room 101. */
export function makeSession(app: FastifyInstance, spec: SessionSpec): Promise<string> {
  return insertSession(app, {
    ...spec,
    fee: spec.fee ?? 500,
    room: spec.room === undefined ? '101' : spec.room,
  });
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
