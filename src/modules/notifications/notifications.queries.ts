// What the API reads and sets: outbox listings (staff and the patient's own) and notification preferences.
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { maskEmail, maskPhone } from '../../lib/phone.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import * as preferencesRepo from './notifications.preferences.repository.js';
import * as repo from './notifications.repository.js';
import { DEFAULT_CHANNELS, DEFAULT_OFFSETS } from './notifications.rules.js';
import type { Channel, OutboxStatus } from './notifications.table.js';

export interface QueriesDeps {
  db: DB;
  clock: Clock;
}

export interface Preferences {
  channels: Channel[];
  reminderOffsets: number[];
  quietStart: string | null;
  quietEnd: string | null;
  language: 'en' | 'bn';
}

export interface NotificationView {
  id: string;
  kind: string;
  channel: Channel;
  status: OutboxStatus;
  to: string;
  appointmentId?: string;
  sendAfter: string;
  sentAt?: string;
  attempts: number;
  lastError?: string;
  createdAt: string;
}

export interface ListQuery {
  status?: OutboxStatus;
  kind?: string;
  appointmentId?: string;
  date?: string;
  limit?: number;
  cursor?: string;
}

function toView(row: Awaited<ReturnType<typeof repo.listOutbox>>[number]): NotificationView {
  return {
    id: row.id,
    kind: row.kind,
    channel: row.channel,
    status: row.status,
    to: row.channel === 'sms' ? maskPhone(row.recipient) : maskEmail(row.recipient),
    ...(row.appointmentId ? { appointmentId: row.appointmentId } : {}),
    sendAfter: new Date(row.sendAfter).toISOString(),
    ...(row.sentAt ? { sentAt: new Date(row.sentAt).toISOString() } : {}),
    attempts: row.attempts,
    ...(row.lastError ? { lastError: row.lastError } : {}),
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export class NotificationQueries {
  constructor(private readonly deps: QueriesDeps) {}

  async getPreferences(userId: string): Promise<Preferences> {
    const row = await preferencesRepo.findPreferences(this.deps.db, userId);
    if (!row)
      return {
        channels: DEFAULT_CHANNELS,
        reminderOffsets: DEFAULT_OFFSETS,
        quietStart: null,
        quietEnd: null,
        language: 'en',
      };
    return {
      channels: row.channels,
      reminderOffsets: row.reminderOffsets.map(Number),
      quietStart: row.quietStart?.slice(0, 5) ?? null,
      quietEnd: row.quietEnd?.slice(0, 5) ?? null,
      language: row.language,
    };
  }

  async updatePreferences(userId: string, patch: Partial<Preferences>): Promise<Preferences> {
    const current = await this.getPreferences(userId);
    const next: Preferences = { ...current, ...patch };
    if ((next.quietStart === null) !== (next.quietEnd === null))
      throw new AppError('VALIDATION_FAILED', 'quietStart and quietEnd are set together', [
        {
          field: next.quietStart === null ? 'quietStart' : 'quietEnd',
          message: 'is required with the other',
        },
      ]);
    next.channels = [...new Set(next.channels)];
    next.reminderOffsets = [...new Set(next.reminderOffsets)].sort((a, b) => b - a);
    await preferencesRepo.upsertPreferences(this.deps.db, userId, next, this.deps.clock.now());
    return next;
  }

  async list(scope: { userId?: string; hospitalId?: string }, query: ListQuery) {
    const limit = query.limit ?? 20;
    const after = decodeCursor<[string, string]>(query.cursor, 2);
    if (query.cursor && !after) throw new AppError('VALIDATION_FAILED', 'cursor is not valid');
    const rows = await repo.listOutbox(this.deps.db, {
      ...scope,
      status: query.status,
      kind: query.kind,
      appointmentId: query.appointmentId,
      date: query.date,
      limit,
      after: after ? { createdAt: after[0], id: after[1] } : null,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toView),
      nextCursor:
        rows.length > limit && last ? encodeCursor([new Date(last.createdAt).toISOString(), last.id]) : null,
    };
  }
}
