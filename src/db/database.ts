// The Database interface, assembled from each module's tables.
import type { Kysely, Transaction } from 'kysely';
import type { AccountsTables } from '../modules/accounts/accounts.table.js';
import type { AppointmentsTables } from '../modules/appointments/appointments.table.js';
import type { BillingTables } from '../modules/billing/billing.table.js';
import type { CareTables } from '../modules/care/care.table.js';
import type { DirectoryTables } from '../modules/directory/directory.table.js';
import type { FeedbackTables } from '../modules/feedback/feedback.table.js';
import type { FilesTables } from '../modules/files/files.table.js';
import type { NotificationsTables } from '../modules/notifications/notifications.table.js';
import type { QueueTables } from '../modules/queue/queue.table.js';
import type { ScheduleTables } from '../modules/schedule/schedule.table.js';

export interface Database
  extends AccountsTables,
    DirectoryTables,
    ScheduleTables,
    QueueTables,
    AppointmentsTables,
    NotificationsTables,
    BillingTables,
    FeedbackTables,
    CareTables,
    FilesTables {}

export type DB = Kysely<Database>;
/** A connection or an open transaction: repositories accept either. */
export type Executor = Kysely<Database> | Transaction<Database>;
