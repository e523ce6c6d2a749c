// Prescriptions on a visit record: written by the doctor who may write the record, read by those who may read
// it, listed for the patient's account, printed with a QR that links to a public check showing only validity.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { DateTime } from 'luxon';
import type { DB } from '../../db/database.js';
import { invalidField, notFound } from '../../errors.js';
import type { Keyring } from '../../lib/cipher.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import type { AppointmentReads } from '../appointments/appointments.reads.js';
import type { CareAccess } from './care.access.js';
import { aadOf } from './care.keys.service.js';
import { type PrintedPrescription, prescriptionHtml, prescriptionPdf } from './care.print.js';
import type { CareRecords } from './care.records.service.js';
import * as repo from './care.repository.js';
import type { Viewer } from './care.rules.js';
import type { PrescriptionItem } from './care.schema.js';
import type { PrescriptionRow } from './care.table.js';

interface PrescriptionBody {
  items: PrescriptionItem[];
  /** The code in the verification QR; only its hash sits in the clear. */
  code: string;
}

const hashCode = (code: string) => createHash('sha256').update(code).digest();

export interface CarePrescriptionsDeps {
  db: DB;
  keyring: Keyring;
  access: CareAccess;
  records: Pick<CareRecords, 'readable' | 'writable'>;
  appointments: Pick<AppointmentReads, 'careFacts'>;
  publicUrl: string;
}

export class CarePrescriptions {
  constructor(private readonly deps: CarePrescriptionsDeps) {}

  async create(viewer: Viewer, recordId: string, items: PrescriptionItem[]) {
    const { row: record, gate } = await this.deps.records.writable(viewer, recordId);
    const id = randomUUID();
    const code = randomBytes(16).toString('base64url');
    const body: PrescriptionBody = { items, code };
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const inserted = await repo.insertPrescription(trx, {
        id,
        recordId,
        profileId: record.profileId,
        doctorId: record.doctorId,
        keyId: this.deps.keyring.currentId,
        body: this.deps.keyring.sealJson(body, aadOf('prescriptions', id)),
        verifyHash: hashCode(code).toString('hex'),
      });
      await this.deps.access.note(viewer, gate, 'prescription.write', { recordId, prescriptionId: id }, trx);
      return inserted;
    });
    return this.view(row);
  }

  /** The record's prescriptions as shown inside it (the caller has checked the record may be read). */
  async ofRecord(recordId: string) {
    return (await repo.listRecordPrescriptions(this.deps.db, recordId)).map((r) => this.view(r));
  }

  /** Prescriptions of the account's own profile and its dependents, newest first. */
  async mine(viewer: Viewer, page: { limit?: number; cursor?: string }) {
    const profiles = await repo.profilesOfAccount(this.deps.db, viewer.id);
    const limit = page.limit ?? 20;
    const before = decodeCursor<[string, string]>(page.cursor, 2);
    if (page.cursor && !before) throw invalidField('querystring.cursor', 'is not valid');
    const rows =
      profiles.length === 0
        ? []
        : await repo.listProfilesPrescriptions(this.deps.db, {
            profileIds: profiles.map((p) => p.id),
            limit,
            before,
          });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items: items.map((r) => this.view(r)),
      nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
    };
  }

  async printable(viewer: Viewer, id: string, format: 'html' | 'pdf'): Promise<string | Buffer> {
    const row = await repo.findPrescription(this.deps.db, id);
    if (!row) throw notFound('Prescription');
    const { row: record, gate } = await this.deps.records.readable(viewer, row.recordId);
    const facts = await this.deps.appointments.careFacts(record.appointmentId);
    if (!facts) throw notFound('Prescription');
    await this.deps.access.note(viewer, gate, 'prescription.read', {
      recordId: record.id,
      prescriptionId: id,
    });
    const printed: PrintedPrescription = {
      hospital: { name: facts.hospitalName, address: facts.hospitalAddress },
      doctor: { name: facts.doctorName, licenseNo: facts.doctorLicenseNo },
      patientName: gate.profile.name,
      date: DateTime.fromJSDate(row.createdAt, { zone: facts.timezone }).toISODate() ?? '',
      items: this.open(row).items,
      verifyUrl: this.verifyUrl(row),
    };
    return format === 'pdf' ? prescriptionPdf(printed) : prescriptionHtml(printed);
  }

  /** The public check: whether this id and code make a prescription CareQueue issued, and on which day. */
  async verify(id: string, code: string) {
    const row = await repo.findPrescription(this.deps.db, id);
    const expected = row ? Buffer.from(row.verifyHash, 'hex') : hashCode('');
    const valid = row !== undefined && timingSafeEqual(expected, hashCode(code));
    if (!row || !valid) return { valid: false, issuedOn: null };
    const record = await repo.findRecord(this.deps.db, row.recordId);
    const facts = record ? await this.deps.appointments.careFacts(record.appointmentId) : undefined;
    const zone = facts?.timezone ?? 'UTC';
    return { valid: true, issuedOn: DateTime.fromJSDate(row.createdAt, { zone }).toISODate() };
  }

  private open(row: PrescriptionRow): PrescriptionBody {
    return this.deps.keyring.openJson<PrescriptionBody>(row.body, aadOf('prescriptions', row.id));
  }

  private verifyUrl(row: PrescriptionRow): string {
    return `${this.deps.publicUrl}/v1/prescriptions/${row.id}/verify?code=${this.open(row).code}`;
  }

  private view(row: PrescriptionRow) {
    return {
      id: row.id,
      recordId: row.recordId,
      profileId: row.profileId,
      doctorId: row.doctorId,
      issuedAt: row.createdAt.toISOString(),
      items: this.open(row).items,
      verifyUrl: this.verifyUrl(row),
    };
  }
}
