import type { Generated, Selectable } from 'kysely';
import type { CreatedAt, Timestamp, UpdatedAt } from '../accounts/accounts.table.js';

export const QUEUE_STATUSES = ['open', 'paused', 'closed', 'cancelled'] as const;
export type QueueStatus = (typeof QUEUE_STATUSES)[number];

/** A session on one local date: the queue. */
export interface SessionDaysTable {
  id: Generated<string>;
  sessionId: string;
  doctorId: string;
  hospitalId: string;
  date: string;
  startsAt: Timestamp;
  endsAt: Timestamp;
  capacity: number;
  slotMinutes: number;
  nextSerial: Generated<number>;
  bookedCount: Generated<number>;
  version: Generated<number>;
  status: Generated<QueueStatus>;
  nowServing: number | null;
  notice: string | null;
  pausedUntil: Timestamp | null;
  avgConsultSeconds: number | null;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
}

export interface QueueEventsTable {
  id: Generated<number>;
  queueId: string;
  version: number;
  type: string;
  appointmentId: string | null;
  serial: number | null;
  actorId: string | null;
  reason: string | null;
  data: unknown;
  at: CreatedAt;
}

export interface QueueTables {
  sessionDays: SessionDaysTable;
  queueEvents: QueueEventsTable;
}

export type SessionDay = Selectable<SessionDaysTable>;
export type QueueEvent = Selectable<QueueEventsTable>;
