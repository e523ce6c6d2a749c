// Demo history: the past weeks of every demo sitting, simulated (history.simulate.ts) and written in bulk as the
// day ledger would have written them — closed session days, their appointments and queue events — so a
// newcomer's reports and charts have real-looking data. Reads the schedule and accounts it acts for.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../../../clock.js';
import type { DB, Executor } from '../../../db/database.js';
import type { Session } from '../../schedule/schedule.table.js';
import { addDays, isoWeekday, localInstant, todayIn } from '../../schedule/schedule.time.js';
import { type SimulatedDay, type SimulatedSitting, seededRandom, simulateDay } from './history.simulate.js';

/** @default 28 days */
export const HISTORY_DAYS = 28;
const SEED = 20_260_101;
const CHUNK = 1000;

type SessionRow = Pick<
  Session,
  | 'id'
  | 'doctorId'
  | 'hospitalId'
  | 'weekday'
  | 'startTime'
  | 'endTime'
  | 'slotMinutes'
  | 'capacity'
  | 'fee'
  | 'validFrom'
  | 'validTo'
> & { timezone: string; doctorUserId: string };

async function sittingsToSimulate(db: DB, now: Date, days: number, skipAccount: string | null) {
  const sessions = (await db
    .selectFrom('sessions as s')
    .innerJoin('hospitals as h', 'h.id', 's.hospitalId')
    .innerJoin('doctors as d', 'd.id', 's.doctorId')
    .select([
      's.id',
      's.doctorId',
      's.hospitalId',
      's.weekday',
      's.startTime',
      's.endTime',
      's.slotMinutes',
      's.capacity',
      's.fee',
      's.validFrom',
      's.validTo',
      'h.timezone',
      'd.userId as doctorUserId',
    ])
    .where('s.deletedAt', 'is', null)
    .where('s.confirmedAt', 'is not', null)
    .where('d.verifiedAt', 'is not', null)
    .orderBy('d.name')
    .orderBy('s.weekday')
    .orderBy('s.startTime')
    .execute()) as SessionRow[];
  const desks = await db
    .selectFrom('users')
    .select(['id', 'hospitalId'])
    .where('role', '=', 'staff')
    .where('disabledAt', 'is', null)
    .execute();
  const admin = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .orderBy('createdAt')
    .executeTakeFirst();
  const patients = await db
    .selectFrom('patientProfiles as p')
    .innerJoin('users as u', 'u.id', 'p.accountId')
    .select(['p.accountId', 'p.id as profileId'])
    .where('p.isSelf', '=', true)
    .where('u.role', '=', 'patient')
    .$if(skipAccount !== null, (q) => q.where('u.email', '<>', skipAccount as string))
    .orderBy('u.email')
    .execute();
  const sittings: SimulatedSitting[] = [];
  for (const s of sessions) {
    const today = todayIn(s.timezone, now);
    for (let back = days; back >= 1; back--) {
      const date = addDays(today, -back);
      if (isoWeekday(date) !== s.weekday) continue;
      if ((s.validFrom && date < s.validFrom) || (s.validTo && date > s.validTo)) continue;
      sittings.push({
        queueId: randomUUID(),
        sessionId: s.id,
        doctorId: s.doctorId,
        hospitalId: s.hospitalId,
        date,
        startsAt: localInstant(date, s.startTime, s.timezone),
        endsAt: localInstant(date, s.endTime, s.timezone),
        slotMinutes: s.slotMinutes,
        capacity: s.capacity,
        fee: s.fee,
        doctorUserId: s.doctorUserId,
        deskUserId: desks.find((d) => d.hospitalId === s.hospitalId)?.id ?? admin?.id ?? null,
        patients,
      });
    }
  }
  return sittings;
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Inserts rows as one JSON parameter per chunk (jsonb_populate_recordset): far fewer bind parameters than a
 * multi-row VALUES, which is what makes the embedded database slow on thousands of rows.
 */
async function bulkInsert(trx: Executor, table: string, rows: object[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]).map(snake).join(', ');
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows
      .slice(i, i + CHUNK)
      .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [snake(k), v])));
    await sql`insert into ${sql.raw(table)} (${sql.raw(columns)})
      select ${sql.raw(columns)} from jsonb_populate_recordset(null::${sql.raw(table)}, ${JSON.stringify(chunk)}::jsonb)`.execute(
      trx,
    );
  }
}

async function writeDays(trx: Executor, sittings: SimulatedSitting[], days: SimulatedDay[]): Promise<void> {
  await bulkInsert(
    trx,
    'session_days',
    sittings.map((s, i) => ({
      id: s.queueId,
      sessionId: s.sessionId,
      doctorId: s.doctorId,
      hospitalId: s.hospitalId,
      date: s.date,
      startsAt: s.startsAt,
      endsAt: s.endsAt,
      capacity: s.capacity,
      slotMinutes: s.slotMinutes,
      nextSerial: days[i].nextSerial,
      bookedCount: days[i].bookedCount,
      version: days[i].version,
      status: days[i].status,
      avgConsultSeconds: days[i].avgConsultSeconds,
    })),
  );
  await bulkInsert(
    trx,
    'appointments',
    days.flatMap((d) => d.appointments),
  );
  await bulkInsert(
    trx,
    'queue_events',
    days.flatMap((d) => d.events.map((e) => ({ ...e, data: e.data === null ? null : JSON.parse(e.data) }))),
  );
}

/**
 * Writes `days` of history before today for every confirmed sitting of a verified doctor, skipping dates that
 * already have a session day. `skipAccount` (an e-mail) gets no past visits (the demo patient's own list stays
 * short). Returns the number of appointments written.
 */
export async function seedHistory(
  db: DB,
  clock: Clock,
  options: { days?: number; skipAccount?: string } = {},
): Promise<number> {
  const now = clock.now();
  const planned = await sittingsToSimulate(
    db,
    now,
    options.days ?? HISTORY_DAYS,
    options.skipAccount ?? null,
  );
  const taken = new Set(
    (
      await db
        .selectFrom('sessionDays')
        .select(['sessionId', 'date'])
        .where('date', '>=', addDays(todayIn('UTC', now), -(options.days ?? HISTORY_DAYS) - 1))
        .execute()
    ).map((d) => `${d.sessionId}|${d.date}`),
  );
  const sittings = planned.filter((s) => !taken.has(`${s.sessionId}|${s.date}`));
  const random = seededRandom(SEED);
  const days = sittings.map((s) => simulateDay(s, random));
  await db.transaction().execute((trx) => writeDays(trx, sittings, days));
  return days.reduce((n, d) => n + d.appointments.length, 0);
}
