// Kysely queries of each account's notification preferences and the SMS opt-out list. No rules here.
import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

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

/** Messages to this account go by SMS only (it has no e-mail address). */
export async function preferSmsOnly(db: Executor, userId: string): Promise<void> {
  await db
    .insertInto('notificationPreferences')
    .values({ userId, channels: ['sms'] })
    .onConflict((oc) => oc.column('userId').doUpdateSet({ channels: ['sms'] }))
    .execute();
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
