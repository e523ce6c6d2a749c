// A hospital billing in its own currency, with one or more of today's queues holding booked patients (real
// accounts) or walk-ins, a fee per session and optionally a service; a second hospital with its own staff and
// a queue. Rows go straight to the database; completions go through the queue API (the day ledger).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { hashToken, newOpaqueToken } from '../../src/lib/tokens.js';
import { insertCatalog, insertHospital, insertSession, insertSessionDay } from '../helpers/clinic.js';
import { makeUser, type TestUser } from '../helpers/users.js';

export const ZONE = 'Asia/Dhaka';

export interface Visit {
  appointmentId: string;
  /** The patient's account; absent for a walk-in. */
  patient?: TestUser;
}

export interface Queue {
  queueId: string;
  hospitalId: string;
  visits: Visit[];
}

export interface BillingClinic {
  hospitalId: string;
  otherHospitalId: string;
  date: string;
  staff: TestUser;
  otherStaff: TestUser;
  admin: TestUser;
  doctor: TestUser;
  queues: Queue[];
  /** A queue of the other hospital with one booked patient. */
  otherQueue: Queue;
}

export interface ClinicOptions {
  /** Queues (one doctor each) at the first hospital. @default 1 */
  queues?: number;
  /** Patients with accounts per queue. @default 2 */
  patients?: number;
  /** Walk-ins without an account (a phone only) per queue, after the patients. @default 0 */
  walkIns?: number;
  /** The sessions' fee. @default 500 */
  fee?: number;
  /** A service booked by every patient, with its fee. */
  service?: { name: string; fee: number };
  /** The clinic's local date of the queues. @default today in Asia/Dhaka by the app clock */
  now?: Date;
}

async function queueWithVisits(
  app: FastifyInstance,
  hospitalId: string,
  day: DateTime,
  opts: { patients: number; walkIns: number; fee: number; serviceId: string | null },
): Promise<Queue & { doctor: TestUser }> {
  const doctor = await makeUser(app, 'doctor', { name: `Dr. Bill ${randomBytes(2).toString('hex')}` });
  const doctorId = doctor.doctorId as string;
  const count = opts.patients + opts.walkIns;
  const sessionId = await insertSession(app, {
    doctorId,
    hospitalId,
    weekday: day.weekday,
    start: '00:00',
    end: '23:00',
    capacity: Math.max(count, 10),
    fee: opts.fee,
  });
  const date = day.toISODate() as string;
  const queueId = await insertSessionDay(app, {
    sessionId,
    doctorId,
    hospitalId,
    date,
    startsAt: day.toJSDate(),
    endsAt: day.plus({ hours: 23 }).toJSDate(),
    capacity: Math.max(count, 10),
    slotMinutes: 10,
    bookedCount: count,
  });
  const visits: Visit[] = [];
  for (let serial = 1; serial <= count; serial++) {
    const walkIn = serial > opts.patients;
    const patient = walkIn ? undefined : await makeUser(app, 'patient', { name: `Patient ${serial}` });
    const row = await app.db
      .insertInto('appointments')
      .values({
        queueId,
        doctorId,
        date,
        profileId: patient?.profileId ?? null,
        bookedBy: patient?.id ?? null,
        serviceId: walkIn ? null : opts.serviceId,
        serial,
        positionKey: serial,
        estimatedAt: day.toJSDate(),
        trackingTokenHash: hashToken(newOpaqueToken()),
        fee: walkIn ? 0 : opts.fee,
        ...(walkIn
          ? {
              kind: 'walk_in' as const,
              walkInName: `Walk-in ${serial}`,
              walkInPhone: `+8801711${String(serial).padStart(6, '0')}`,
            }
          : {}),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    visits.push({ appointmentId: row.id, patient });
  }
  return { queueId, hospitalId, visits, doctor };
}

export async function billingClinic(app: FastifyInstance, opts: ClinicOptions = {}): Promise<BillingClinic> {
  const day = DateTime.fromJSDate(opts.now ?? app.clock.now(), { zone: ZONE }).startOf('day');
  const hospitalId = await insertHospital(app, { name: `Billing General ${randomBytes(2).toString('hex')}` });
  const otherHospitalId = await insertHospital(app, {
    name: `Other Clinic ${randomBytes(2).toString('hex')}`,
  });
  const serviceId = opts.service ? await insertCatalog(app, 'services', opts.service.name) : null;
  if (serviceId && opts.service)
    await app.db.updateTable('services').set({ fee: opts.service.fee }).where('id', '=', serviceId).execute();
  const shape = { patients: opts.patients ?? 2, walkIns: opts.walkIns ?? 0, fee: opts.fee ?? 500, serviceId };
  const queues: (Queue & { doctor: TestUser })[] = [];
  for (let i = 0; i < (opts.queues ?? 1); i++)
    queues.push(await queueWithVisits(app, hospitalId, day, shape));
  const otherQueue = await queueWithVisits(app, otherHospitalId, day, { ...shape, patients: 1, walkIns: 0 });
  return {
    hospitalId,
    otherHospitalId,
    date: day.toISODate() as string,
    staff: await makeUser(app, 'staff', { hospitalId }),
    otherStaff: await makeUser(app, 'staff', { hospitalId: otherHospitalId }),
    admin: await makeUser(app, 'admin'),
    doctor: queues[0].doctor,
    queues,
    otherQueue,
  };
}

/** Call-next on a queue: completes the visit in progress and calls the next in line. */
export function callNext(app: FastifyInstance, staff: TestUser, queueId: string) {
  return app.inject({
    method: 'POST',
    url: `/v1/queues/${queueId}/call-next`,
    headers: staff.auth,
    payload: {},
  });
}

/** Completes the first `n` visits of a queue in order (n + 1 call-nexts); throws on a refusal. */
export async function completeFirst(app: FastifyInstance, staff: TestUser, queueId: string, n: number) {
  for (let i = 0; i <= n; i++) {
    const res = await callNext(app, staff, queueId);
    if (res.statusCode !== 200) throw new Error(`call-next answered ${res.statusCode}: ${res.body}`);
  }
}
