// Care records' tables. `body` and `meta` are sealed envelopes (src/lib/cipher.ts), never plain text.
import type { Generated, Selectable } from 'kysely';
import type { CreatedAt, Timestamp, UpdatedAt } from '../accounts/accounts.table.js';

export interface CareKeyChecksTable {
  keyId: string;
  sealed: Buffer;
  createdAt: CreatedAt;
}

export interface MedicalHistoriesTable {
  profileId: string;
  keyId: string;
  body: Buffer;
  updatedBy: string | null;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
}

export interface VisitRecordsTable {
  id: string;
  appointmentId: string;
  profileId: string;
  doctorId: string;
  version: Generated<number>;
  keyId: string;
  body: Buffer;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
}

export interface VisitRecordVersionsTable {
  recordId: string;
  version: number;
  keyId: string;
  body: Buffer;
  /** Who made the edit that replaced this version. */
  replacedBy: string | null;
  /** When this version was written (its record's updated_at then). */
  writtenAt: Timestamp;
}

export interface PrescriptionsTable {
  id: string;
  recordId: string;
  profileId: string;
  doctorId: string;
  keyId: string;
  body: Buffer;
  /** SHA-256 of the code printed in the verification QR. */
  verifyHash: string;
  createdAt: CreatedAt;
}

export interface RecordAttachmentsTable {
  id: string;
  recordId: string;
  keyId: string;
  meta: Buffer;
  contentType: string;
  sizeBytes: number;
  blobKey: string;
  uploadedBy: string | null;
  createdAt: CreatedAt;
}

export interface CareTables {
  careKeyChecks: CareKeyChecksTable;
  medicalHistories: MedicalHistoriesTable;
  visitRecords: VisitRecordsTable;
  visitRecordVersions: VisitRecordVersionsTable;
  prescriptions: PrescriptionsTable;
  recordAttachments: RecordAttachmentsTable;
}

export type VisitRecordRow = Selectable<VisitRecordsTable>;
export type PrescriptionRow = Selectable<PrescriptionsTable>;
export type AttachmentRow = Selectable<RecordAttachmentsTable>;
