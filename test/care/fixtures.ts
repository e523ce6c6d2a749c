// A care-records clinic: today's queue (test/queue/ops.fixtures.ts) and helpers that move a visit through
// its stages over HTTP, as the doctor's console does.
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { hashToken, newOpaqueToken } from '../../src/lib/tokens.js';
import { TEST_JWT_SECRET } from '../helpers/app.js';
import type { TestUser } from '../helpers/users.js';
import { type QueueFixture, queueFixture } from '../queue/ops.fixtures.js';

export type CareFixture = QueueFixture;

export async function careFixture(app: FastifyInstance, count = 3): Promise<CareFixture> {
  return queueFixture(app, { count });
}

/** The doctor calls this patient (the visit is with the doctor: the record may be written). */
export async function callPatient(app: FastifyInstance, f: CareFixture, appointmentId: string) {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/queues/${f.queueId}/entries/${appointmentId}/call`,
    headers: f.doctor.auth,
    payload: { reason: 'emergency' },
  });
  assert.equal(res.statusCode, 200, res.body);
}

export async function completeVisit(app: FastifyInstance, f: CareFixture, appointmentId: string) {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/queues/${f.queueId}/entries/${appointmentId}/complete`,
    headers: f.doctor.auth,
  });
  assert.equal(res.statusCode, 200, res.body);
}

export const RECORD = {
  complaint: 'Persistent cough for three weeks',
  findings: 'Wheeze on both sides',
  diagnosis: 'Mild persistent asthma',
  icd10: 'J45.30',
  notes: 'Avoid dust; review inhaler technique',
  vitals: { bpSystolic: 128, bpDiastolic: 82, pulse: 76, temperature: 37.1, weight: 64.5 },
};

/** One request as `user` (null: signed out). */
export function call(
  app: FastifyInstance,
  user: TestUser | null,
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  payload?: Record<string, unknown>,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: user ? user.auth : {},
    ...(payload === undefined ? {} : { payload }),
  });
}

/** A patient called in by the doctor and their visit record written; returns the record's id. */
export async function writtenRecord(
  app: FastifyInstance,
  f: CareFixture,
  patient: CareFixture['patients'][number],
) {
  await callPatient(app, f, patient.appointmentId);
  const res = await call(app, f.doctor, 'POST', `/v1/patients/${patient.profileId}/records`, {
    appointmentId: patient.appointmentId,
    ...RECORD,
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id as string;
}

/** A booked place in the fixture's queue for another profile (a dependent), written as the fixture does. */
export async function bookFor(app: FastifyInstance, f: CareFixture, profileId: string, bookedBy: string) {
  const serial = f.patients.length + 1 + Math.floor(Math.random() * 1000);
  const row = await app.db
    .insertInto('appointments')
    .values({
      queueId: f.queueId,
      doctorId: f.doctor.doctorId!,
      date: f.date,
      profileId,
      bookedBy,
      serial,
      positionKey: serial,
      estimatedAt: new Date(),
      trackingTokenHash: hashToken(newOpaqueToken()),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** The real app on an existing Postgres database under these keys (a start-up, as after a restart). */
export function startOn(url: string, key: string, previous?: string) {
  return buildApp(
    loadConfig({
      DATABASE_URL: url,
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: key,
      ...(previous ? { ENCRYPTION_KEY_PREVIOUS: previous } : {}),
      LOG_LEVEL: 'silent',
      SEED_DEMO: 'false',
      NOTIFY_CRON: 'false',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    }),
    { logger: false },
  );
}
