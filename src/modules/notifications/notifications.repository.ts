// Kysely queries of the notification outbox, preferences, opt-outs and message contexts. No rules here.
// The reminder scan's queries are in notifications.reminders.repository.ts.
import { type Insertable, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { NotificationOutboxTable, OutboxRow, OutboxStatus } from './notifications.table.js';

export type NewOutboxRow = Insertable<NotificationOutboxTable>;

/** Inserts rows whose dedupe key is new; returns how many were new. */
export async function insertOutbox(db: Executor, rows: NewOutboxRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await db
    .insertInto('notificationOutbox')
    .values(rows)
    .onConflict((oc) => oc.column('dedupeKey').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

/** Cancels the appointment's messages that have not left yet (optionally only some kinds). */
export async function cancelPending(
  db: Executor,
  appointmentId: string,
  reason: string,
  now: Date,
  kinds?: string[],
): Promise<number> {
  let query = db
    .updateTable('notificationOutbox')
    .set({ status: 'cancelled', lastError: reason, updatedAt: now })
    .where('appointmentId', '=', appointmentId)
    .where('status', '=', 'pending');
  if (kinds?.length) query = query.where('kind', 'in', kinds);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Claims up to `limit` due rows for this sender: pending ones whose time has come, and 'sending' ones whose
 * lease ran out (their sender died). SKIP LOCKED lets every instance claim at once without overlap.
 */
export async function claimDue(
  db: Executor,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<OutboxRow[]> {
  const due = db
    .selectFrom('notificationOutbox')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'pending'), eb('sendAfter', '<=', now)]),
        eb.and([eb('status', '=', 'sending'), eb('leaseUntil', '<', now)]),
      ]),
    )
    .orderBy('sendAfter')
    .limit(limit)
    .forUpdate()
    .skipLocked();
  return db
    .updateTable('notificationOutbox')
    .set({ status: 'sending', leaseUntil, attempts: sql`attempts + 1`, updatedAt: now })
    .where('id', 'in', due)
    .returningAll()
    .execute();
}

/** Settles a claimed row, but only while this sender still holds its lease. */
export async function settle(
  db: Executor,
  id: string,
  lease: Date,
  values: {
    status: OutboxStatus;
    providerId?: string | null;
    lastError?: string | null;
    sendAfter?: Date;
    sentAt?: Date;
    attempts?: number;
  },
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('notificationOutbox')
    .set({ ...values, leaseUntil: null, updatedAt: now })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .where('leaseUntil', '=', lease)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Applies a provider delivery report; returns false when no message has that provider id. */
export async function applyDeliveryStatus(
  db: Executor,
  providerId: string,
  status: 'sent' | 'delivered' | 'failed',
  error: string | null,
  now: Date,
): Promise<boolean> {
  const row = await db
    .selectFrom('notificationOutbox')
    .select(['id', 'status'])
    .where('providerId', '=', providerId)
    .executeTakeFirst();
  if (!row) return false;
  // Reports can arrive out of order; a delivered message stays delivered.
  if (row.status === 'delivered' || status === 'sent') return true;
  await db
    .updateTable('notificationOutbox')
    .set({
      status,
      lastError: error,
      ...(status === 'delivered' ? { deliveredAt: now } : {}),
      updatedAt: now,
    })
    .where('id', '=', row.id)
    .execute();
  return true;
}

export async function optOut(db: Executor, phone: string, now: Date): Promise<void> {
  await db
    .insertInto('smsOptOuts')
    .values({ phone, optedOutAt: now })
    .onConflict((oc) => oc.column('phone').doNothing())
    .execute();
}

export async function optIn(db: Executor, phone: string): Promise<void> {
  await db.deleteFrom('smsOptOuts').where('phone', '=', phone).execute();
}

export async function optedOut(db: Executor, phones: string[]): Promise<Set<string>> {
  if (phones.length === 0) return new Set();
  const rows = await db.selectFrom('smsOptOuts').select('phone').where('phone', 'in', phones).execute();
  return new Set(rows.map((r) => r.phone));
}

export function findPreferences(db: Executor, userId: string) {
  return db.selectFrom('notificationPreferences').selectAll().where('userId', '=', userId).executeTakeFirst();
}

export async function upsertPreferences(
  db: Executor,
  userId: string,
  values: {
    channels: string[];
    reminderOffsets: number[];
    quietStart: string | null;
    quietEnd: string | null;
    language: 'en' | 'bn';
  },
  now: Date,
): Promise<void> {
  const row = {
    userId,
    channels: sql<string[]>`${values.channels}::text[]`,
    reminderOffsets: sql<number[]>`${values.reminderOffsets}::int[]`,
    quietStart: values.quietStart,
    quietEnd: values.quietEnd,
    language: values.language,
    updatedAt: now,
  };
  await db
    .insertInto('notificationPreferences')
    // biome-ignore lint/suspicious/noExplicitAny: array casts are raw SQL expressions
    .values(row as any)
    .onConflict((oc) =>
      oc.column('userId').doUpdateSet({
        channels: (eb) => eb.ref('excluded.channels'),
        reminderOffsets: (eb) => eb.ref('excluded.reminderOffsets'),
        quietStart: (eb) => eb.ref('excluded.quietStart'),
        quietEnd: (eb) => eb.ref('excluded.quietEnd'),
        language: (eb) => eb.ref('excluded.language'),
        updatedAt: (eb) => eb.ref('excluded.updatedAt'),
      }),
    )
    .execute();
}

/** Everything a message about an appointment needs, in one read. */
export function loadAppointmentContexts(db: Executor, ids: string[]) {
  return db
    .selectFrom('appointments as a')
    .innerJoin('sessionDays as q', 'q.id', 'a.queueId')
    .innerJoin('sessions as s', 's.id', 'q.sessionId')
    .innerJoin('hospitals as h', 'h.id', 'q.hospitalId')
    .innerJoin('doctors as d', 'd.id', 'a.doctorId')
    .leftJoin('services as sv', 'sv.id', 'a.serviceId')
    .leftJoin('patientProfiles as pp', 'pp.id', 'a.profileId')
    .leftJoin('users as u', 'u.id', 'pp.accountId')
    .leftJoin('notificationPreferences as np', 'np.userId', 'u.id')
    .innerJoin('users as du', 'du.id', 'd.userId')
    .select([
      'a.id',
      'a.queueId',
      'a.serial',
      'a.status',
      'a.kind',
      'a.estimatedAt',
      'a.date',
      'a.fee',
      'a.walkInName',
      'a.walkInPhone',
      'q.hospitalId',
      'q.notice',
      'q.pausedUntil',
      's.room',
      'h.name as hospitalName',
      'h.timezone',
      'h.quietStart as hospitalQuietStart',
      'h.quietEnd as hospitalQuietEnd',
      'd.name as doctorName',
      'd.userId as doctorUserId',
      'du.email as doctorEmail',
      'du.phone as doctorPhone',
      'sv.name as serviceName',
      'pp.name as patientName',
      'pp.phone as profilePhone',
      'u.id as userId',
      'u.email as userEmail',
      'u.phone as userPhone',
      'np.channels',
      'np.reminderOffsets',
      'np.quietStart',
      'np.quietEnd',
      'np.language',
      (eb) =>
        eb
          .selectFrom('notificationOutbox as c')
          .select(sql<string>`c.payload->>'trackingUrl'`.as('url'))
          .whereRef('c.appointmentId', '=', 'a.id')
          .where('c.kind', 'in', ['confirmation', 'reschedule'])
          .limit(1)
          .as('trackingUrl'),
    ])
    .where('a.id', 'in', ids)
    .execute();
}

export type AppointmentContext = Awaited<ReturnType<typeof loadAppointmentContexts>>[number];

/** Ids of the appointments still waiting in a queue, in queue order. */
export async function waitingAppointments(db: Executor, queueId: string) {
  return db
    .selectFrom('appointments')
    .select(['id', 'status', 'estimatedAt'])
    .where('queueId', '=', queueId)
    .where('status', 'in', ['booked', 'confirmed', 'checked_in'])
    .orderBy('priority', 'desc')
    .orderBy('positionKey')
    .execute();
}

/** A waitlist offer's context: the queue day it is for, and the account and profile it is offered to. */
export function loadOfferContext(
  db: Executor,
  offer: { queueId: string; profileId: string; accountId: string },
) {
  return db
    .selectFrom('sessionDays as q')
    .innerJoin('sessions as s', 's.id', 'q.sessionId')
    .innerJoin('hospitals as h', 'h.id', 'q.hospitalId')
    .innerJoin('doctors as d', 'd.id', 'q.doctorId')
    .innerJoin('users as u', (join) => join.on('u.id', '=', offer.accountId))
    .leftJoin('patientProfiles as pp', (join) =>
      join.on('pp.id', '=', offer.profileId).onRef('pp.accountId', '=', 'u.id'),
    )
    .leftJoin('notificationPreferences as np', 'np.userId', 'u.id')
    .select([
      'q.hospitalId',
      'q.date',
      'q.startsAt',
      's.room',
      'h.name as hospitalName',
      'h.timezone',
      'h.quietStart as hospitalQuietStart',
      'h.quietEnd as hospitalQuietEnd',
      'd.name as doctorName',
      'pp.phone as profilePhone',
      'u.id as userId',
      'u.email as userEmail',
      'u.phone as userPhone',
      'np.channels',
      'np.quietStart',
      'np.quietEnd',
      'np.language',
    ])
    .where('q.id', '=', offer.queueId)
    .executeTakeFirst();
}

export type OfferContext = NonNullable<Awaited<ReturnType<typeof loadOfferContext>>>;

/** Whether the appointment was announced as the new half of a reschedule. */
export async function hasRescheduleMessage(db: Executor, appointmentId: string): Promise<boolean> {
  const row = await db
    .selectFrom('notificationOutbox')
    .select('id')
    .where('appointmentId', '=', appointmentId)
    .where('kind', '=', 'reschedule')
    .executeTakeFirst();
  return row !== undefined;
}

/** What the live ETA of a queue day is computed from. */
export function findQueueTiming(db: Executor, queueId: string) {
  return db
    .selectFrom('sessionDays')
    .select(['avgConsultSeconds', 'slotMinutes', 'status', 'startsAt'])
    .where('id', '=', queueId)
    .executeTakeFirst();
}

/**
 * The time each appointment was last told (confirmation, reschedule or "arrive by" message not cancelled or
 * failed), as epoch ms.
 */
export async function lastToldTimes(db: Executor, appointmentIds: string[]): Promise<Map<string, number>> {
  const told = new Map<string, number>();
  if (appointmentIds.length === 0) return told;
  const rows = await db
    .selectFrom('notificationOutbox')
    .select(['appointmentId', 'payload'])
    .where('appointmentId', 'in', appointmentIds)
    .where('kind', 'in', ['confirmation', 'reschedule', 'arrive_by'])
    .where('status', 'not in', ['cancelled', 'failed'])
    .orderBy('createdAt')
    .execute();
  for (const row of rows) {
    const at = (row.payload as { estimatedAt?: string }).estimatedAt;
    if (row.appointmentId && at) told.set(row.appointmentId, Date.parse(at));
  }
  return told;
}

export interface OutboxFilter {
  userId?: string;
  hospitalId?: string;
  status?: OutboxStatus;
  kind?: string;
  appointmentId?: string;
  /** A local date: rows whose send time falls on it in the hospital's zone (UTC when there is none). */
  date?: string;
  limit: number;
  after?: { createdAt: string; id: string } | null;
}

export function listOutbox(db: Executor, f: OutboxFilter) {
  let query = db
    .selectFrom('notificationOutbox as n')
    .leftJoin('hospitals as h', 'h.id', 'n.hospitalId')
    .select([
      'n.id',
      'n.kind',
      'n.channel',
      'n.status',
      'n.recipient',
      'n.appointmentId',
      'n.sendAfter',
      'n.sentAt',
      'n.attempts',
      'n.lastError',
      'n.createdAt',
    ])
    .orderBy('n.createdAt', 'desc')
    .orderBy('n.id', 'desc')
    .limit(f.limit + 1);
  if (f.userId) query = query.where('n.userId', '=', f.userId);
  if (f.hospitalId) query = query.where('n.hospitalId', '=', f.hospitalId);
  if (f.status) query = query.where('n.status', '=', f.status);
  if (f.kind) query = query.where('n.kind', '=', f.kind);
  if (f.appointmentId) query = query.where('n.appointmentId', '=', f.appointmentId);
  if (f.date)
    query = query.where(
      sql`(n.send_after at time zone coalesce(h.timezone, 'UTC'))::date`,
      '=',
      sql`${f.date}::date`,
    );
  const after = f.after;
  if (after)
    query = query.where((eb) =>
      eb.or([
        eb('n.createdAt', '<', new Date(after.createdAt)),
        eb.and([eb('n.createdAt', '=', new Date(after.createdAt)), eb('n.id', '<', after.id)]),
      ]),
    );
  return query.execute();
}

/** The next active appointment of whoever owns this phone number (profile, account or walk-in). */
export function nextAppointmentForPhone(db: Executor, phone: string, now: Date) {
  return db
    .selectFrom('appointments as a')
    .leftJoin('patientProfiles as pp', 'pp.id', 'a.profileId')
    .leftJoin('users as u', 'u.id', 'pp.accountId')
    .select(['a.id', 'a.queueId', 'a.serial', 'a.status', 'a.estimatedAt'])
    .where('a.status', 'in', ['booked', 'confirmed'])
    .where('a.estimatedAt', '>', new Date(now.getTime() - 3 * 3600_000))
    .where((eb) =>
      eb.or([eb('pp.phone', '=', phone), eb('u.phone', '=', phone), eb('a.walkInPhone', '=', phone)]),
    )
    .orderBy('a.estimatedAt')
    .limit(1)
    .executeTakeFirst();
}

export async function outboxGauges(db: Executor, now: Date) {
  const { rows } = await sql<{ queued: number; oldest: Date | null }>`
    select count(*)::int as queued, min(send_after) as oldest
      from notification_outbox
     where status in ('pending', 'sending') and send_after <= ${now}::timestamptz
  `.execute(db);
  const row = rows[0];
  return { queued: Number(row?.queued ?? 0), oldest: row?.oldest ? new Date(row.oldest) : null };
}

/** Appointment status rows the SMS replies need (the booking module's service takes over when present). */
export function findAppointmentForUpdate(db: Executor, id: string) {
  return db.selectFrom('appointments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function setAppointmentStatus(
  db: Executor,
  id: string,
  status: 'confirmed' | 'cancelled',
  now: Date,
  reason?: string,
): Promise<void> {
  await db
    .updateTable('appointments')
    .set(
      status === 'confirmed'
        ? { status, confirmedAt: now, updatedAt: now }
        : { status, cancelledAt: now, cancelReason: reason ?? null, updatedAt: now },
    )
    .where('id', '=', id)
    .execute();
}
