import type { ColumnType, Generated, Selectable } from 'kysely';
import type { CreatedAt, Timestamp, UpdatedAt } from '../accounts/accounts.table.js';

export interface SessionsTable {
  id: Generated<string>;
  doctorId: string;
  hospitalId: string;
  /** ISO weekday, 1 = Monday … 7 = Sunday. */
  weekday: number;
  /** 'HH:MM:SS' local to the hospital. */
  startTime: string;
  endTime: string;
  slotMinutes: number;
  capacity: number;
  /** numeric(10,2): a string when read. */
  fee: ColumnType<string, string | number | undefined, string | number>;
  room: string | null;
  validFrom: string | null;
  validTo: string | null;
  bookingOpensDays: Generated<number>;
  bookingClosesMinutes: Generated<number>;
  /** When the hospital (its staff or an admin) confirmed the sitting; null while pending (migration 0012). */
  confirmedAt: ColumnType<Date | null, Date | null | undefined, Date | null>;
  confirmedBy: string | null;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
  deletedAt: Timestamp | null;
}

export interface TimeOffTable {
  id: Generated<string>;
  doctorId: string;
  fromDate: string;
  toDate: string;
  /** The hospital whose desk entered it, covering only its sessions; null: the doctor or an admin, all of them. */
  hospitalId: string | null;
  reason: Generated<string>;
  createdAt: CreatedAt;
}

export interface ScheduleTables {
  sessions: SessionsTable;
  timeOff: TimeOffTable;
}

export type Session = Selectable<SessionsTable>;
export type TimeOff = Selectable<TimeOffTable>;
