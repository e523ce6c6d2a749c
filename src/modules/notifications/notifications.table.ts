import type { ColumnType, Generated, Selectable } from 'kysely';
import type { CreatedAt, Timestamp, UpdatedAt } from '../accounts/accounts.table.js';

export const OUTBOX_STATUSES = ['pending', 'sending', 'sent', 'delivered', 'failed', 'cancelled'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];
export type Channel = 'sms' | 'email';

export interface NotificationOutboxTable {
  id: Generated<string>;
  dedupeKey: string;
  kind: string;
  channel: Channel;
  recipient: string;
  userId: string | null;
  appointmentId: string | null;
  hospitalId: string | null;
  language: Generated<string>;
  payload: Generated<unknown>;
  urgent: Generated<boolean>;
  sendAfter: ColumnType<Date, Date | string | undefined, Date | string>;
  status: Generated<OutboxStatus>;
  attempts: Generated<number>;
  lastError: string | null;
  providerId: string | null;
  leaseUntil: Timestamp | null;
  sentAt: Timestamp | null;
  deliveredAt: Timestamp | null;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
}

export interface NotificationPreferencesTable {
  userId: string;
  channels: Generated<Channel[]>;
  reminderOffsets: Generated<number[]>;
  quietStart: string | null;
  quietEnd: string | null;
  language: Generated<'en' | 'bn'>;
  updatedAt: UpdatedAt;
}

export interface SmsOptOutsTable {
  phone: string;
  optedOutAt: CreatedAt;
}

export interface NotificationScanStateTable {
  name: string;
  scannedUntil: Timestamp;
  updatedAt: UpdatedAt;
}

export interface NotificationsTables {
  notificationOutbox: NotificationOutboxTable;
  notificationPreferences: NotificationPreferencesTable;
  smsOptOuts: SmsOptOutsTable;
  notificationScanState: NotificationScanStateTable;
}

export type OutboxRow = Selectable<NotificationOutboxTable>;
