import type { ColumnType, Generated, Selectable } from 'kysely';
import type { CreatedAt, Timestamp, UpdatedAt } from '../accounts/accounts.table.js';

export const APPOINTMENT_STATUSES = [
  'booked',
  'confirmed',
  'checked_in',
  'called',
  'completed',
  'no_show',
  'skipped',
  'cancelled',
] as const;
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];

export interface AppointmentsTable {
  id: Generated<string>;
  queueId: string;
  doctorId: string;
  date: string;
  profileId: string | null;
  bookedBy: string | null;
  serviceId: string | null;
  serial: number;
  kind: Generated<'booked' | 'walk_in'>;
  priority: Generated<number>;
  /** Order inside a priority band: the serial, or a fraction between two entries for a recall. */
  positionKey: number;
  status: Generated<AppointmentStatus>;
  estimatedAt: Timestamp;
  trackingTokenHash: string;
  walkInName: string | null;
  walkInPhone: string | null;
  /** numeric(10,2): a string when read. */
  fee: ColumnType<string, string | number | undefined, string | number>;
  cancelReason: string | null;
  bookedAt: CreatedAt;
  confirmedAt: Timestamp | null;
  checkedInAt: Timestamp | null;
  calledAt: Timestamp | null;
  completedAt: Timestamp | null;
  cancelledAt: Timestamp | null;
  noShowAt: Timestamp | null;
  skippedAt: Timestamp | null;
  updatedAt: UpdatedAt;
}

export interface IdempotencyKeysTable {
  userId: string;
  key: string;
  requestHash: string;
  statusCode: number;
  response: unknown;
  createdAt: CreatedAt;
}

export const WAITLIST_STATUSES = ['waiting', 'offered', 'booked', 'expired', 'left'] as const;
export type WaitlistStatus = (typeof WAITLIST_STATUSES)[number];

export interface WaitlistEntriesTable {
  id: Generated<string>;
  queueId: string;
  profileId: string;
  accountId: string;
  status: Generated<WaitlistStatus>;
  offeredAt: Timestamp | null;
  offerExpiresAt: Timestamp | null;
  appointmentId: string | null;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
}

export interface AppointmentsTables {
  appointments: AppointmentsTable;
  idempotencyKeys: IdempotencyKeysTable;
  waitlistEntries: WaitlistEntriesTable;
}

export type Appointment = Selectable<AppointmentsTable>;
export type WaitlistEntry = Selectable<WaitlistEntriesTable>;
