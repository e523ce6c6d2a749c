// Visit records: written by the visit's doctor from check-in until RECORD_EDIT_DAYS after the visit (each
// edit keeps the earlier version), read by the patient (or guardian) and doctors who see the patient, and by
// anyone else only through break-glass. Every access but the owner's is audited.
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Clock } from '../../clock.js';
import type { DB, Executor } from '../../db/database.js';
import { AppError, invalidField, notFound } from '../../errors.js';
import type { Keyring } from '../../lib/cipher.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import type { AppointmentReads } from '../appointments/appointments.reads.js';
import type { CareAccess, Gate } from './care.access.js';
import { aadOf } from './care.keys.service.js';
import * as repo from './care.repository.js';
import { recordWriteRefusal, type Viewer } from './care.rules.js';
import type {
  AttachmentSchema,
  PrescriptionSchema,
  RecordBody,
  RecordCreateSchema,
  RecordUpdateSchema,
} from './care.schema.js';
import type { VisitRecordRow } from './care.table.js';

const EMPTY: RecordBody = {
  complaint: null,
  findings: null,
  diagnosis: null,
  icd10: null,
  notes: null,
  vitals: {},
  followUpDate: null,
};

export interface CareRecordsDeps {
  db: DB;
  clock: Clock;
  keyring: Keyring;
  access: CareAccess;
  appointments: Pick<AppointmentReads, 'careFacts'>;
  /** The record's attachments and prescriptions as shown inside it. */
  extras(recordId: string): Promise<{
    attachments: Static<typeof AttachmentSchema>[];
    prescriptions: Static<typeof PrescriptionSchema>[];
  }>;
}

type Facts = NonNullable<Awaited<ReturnType<AppointmentReads['careFacts']>>>;

export class CareRecords {
  constructor(private readonly deps: CareRecordsDeps) {}

  async create(viewer: Viewer, profileId: string, input: Static<typeof RecordCreateSchema>) {
    const { appointmentId, ...fields } = input;
    const gate = await this.deps.access.gate(viewer, profileId);
    const facts = await this.deps.appointments.careFacts(appointmentId);
    if (!facts || facts.profileId !== profileId) throw notFound('Appointment');
    this.requireWriter(viewer, facts);
    const body = checkedBody({ ...EMPTY, ...fields }, facts);
    const id = randomUUID();
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const inserted = await repo.insertRecord(trx, {
        id,
        appointmentId,
        profileId,
        doctorId: facts.doctorId,
        keyId: this.deps.keyring.currentId,
        body: this.deps.keyring.sealJson(body, aadOf('visit_records', id)),
      });
      if (!inserted) {
        throw new AppError('CONFLICT', 'This visit already has a record: edit it instead', {
          recordId: (await repo.findRecordOfAppointment(trx, appointmentId))?.id,
        });
      }
      await this.deps.access.note(viewer, gate, 'record.write', { recordId: id }, trx);
      return inserted;
    });
    return this.view(row);
  }

  async update(viewer: Viewer, id: string, changes: Static<typeof RecordUpdateSchema>) {
    const found = await this.find(id);
    const gate = await this.deps.access.gate(viewer, found.profileId);
    const facts = await this.deps.appointments.careFacts(found.appointmentId);
    if (!facts) throw notFound('Visit record');
    this.requireWriter(viewer, facts);
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const current = await repo.lockRecord(trx, id);
      if (!current) throw notFound('Visit record');
      const before = this.open(current);
      const body = checkedBody({ ...before, ...changes }, facts);
      await repo.insertRecordVersion(trx, {
        recordId: id,
        version: current.version,
        keyId: this.deps.keyring.currentId,
        body: this.deps.keyring.sealJson(before, aadOf('visit_record_versions', id, current.version)),
        replacedBy: viewer.id,
        writtenAt: current.updatedAt,
      });
      const updated = await repo.updateRecordBody(trx, id, {
        version: current.version + 1,
        keyId: this.deps.keyring.currentId,
        body: this.deps.keyring.sealJson(body, aadOf('visit_records', id)),
      });
      await this.deps.access.note(viewer, gate, 'record.write', { recordId: id }, trx);
      return updated;
    });
    return this.view(row);
  }

  async get(viewer: Viewer, id: string) {
    const row = await this.find(id);
    const gate = await this.deps.access.require(viewer, row.profileId);
    await this.deps.access.note(viewer, gate, 'record.read', { recordId: id });
    return this.view(row);
  }

  /** A record opened by a clinician without access: the reason goes to the audit log for the patient. */
  async breakGlass(viewer: Viewer, id: string, reason: string) {
    const row = await this.find(id);
    const gate = await this.deps.access.breakGlass(viewer, row.profileId);
    await this.deps.access.note(viewer, gate, 'break_glass', { recordId: id, reason });
    return this.view(row);
  }

  async list(viewer: Viewer, profileId: string, page: { limit?: number; cursor?: string }) {
    const gate = await this.deps.access.require(viewer, profileId);
    const limit = page.limit ?? 20;
    const before = decodeCursor<[string, string]>(page.cursor, 2);
    if (page.cursor && !before) throw invalidField('querystring.cursor', 'is not valid');
    const rows = await repo.listRecords(this.deps.db, { profileId, limit, before });
    const items = rows.slice(0, limit);
    await this.deps.access.note(viewer, gate, 'records.list');
    const last = items.at(-1);
    return {
      items: await Promise.all(items.map((r) => this.view(r))),
      nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt.toISOString(), last.id]) : null,
    };
  }

  async versions(viewer: Viewer, id: string) {
    const row = await this.find(id);
    const gate = await this.deps.access.require(viewer, row.profileId);
    await this.deps.access.note(viewer, gate, 'record.read', { recordId: id });
    const versions = await repo.listRecordVersions(this.deps.db, id);
    return {
      items: versions.map((v) => ({
        version: v.version,
        writtenAt: v.writtenAt.toISOString(),
        ...this.deps.keyring.openJson<RecordBody>(v.body, aadOf('visit_record_versions', id, v.version)),
      })),
      nextCursor: null,
    };
  }

  /** The record if the viewer may read it (for its prescriptions and attachments), with the gate passed. */
  async readable(viewer: Viewer, id: string): Promise<{ row: VisitRecordRow; gate: Gate }> {
    const row = await this.find(id);
    return { row, gate: await this.deps.access.require(viewer, row.profileId) };
  }

  /** The record and its visit if the viewer is the doctor who may write it now. */
  async writable(viewer: Viewer, id: string, db: Executor = this.deps.db) {
    const row = await repo.findRecord(db, id);
    if (!row) throw notFound('Visit record');
    const facts = await this.deps.appointments.careFacts(row.appointmentId);
    if (!facts) throw notFound('Visit record');
    const gate = await this.deps.access.gate(viewer, row.profileId);
    this.requireWriter(viewer, facts);
    return { row, facts, gate };
  }

  private requireWriter(viewer: Viewer, facts: Facts) {
    const refusal = recordWriteRefusal(viewer, facts, this.deps.clock.now());
    if (refusal) throw new AppError(refusal.code, refusal.message);
  }

  private async find(id: string): Promise<VisitRecordRow> {
    const row = await repo.findRecord(this.deps.db, id);
    if (!row) throw notFound('Visit record');
    return row;
  }

  private open(row: VisitRecordRow): RecordBody {
    return { ...EMPTY, ...this.deps.keyring.openJson<RecordBody>(row.body, aadOf('visit_records', row.id)) };
  }

  private async view(row: VisitRecordRow) {
    return {
      id: row.id,
      appointmentId: row.appointmentId,
      profileId: row.profileId,
      doctorId: row.doctorId,
      version: row.version,
      ...this.open(row),
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      ...(await this.deps.extras(row.id)),
    };
  }
}

/** The body with its cross-field rules checked: diastolic under systolic, follow-up not before the visit. */
function checkedBody(body: RecordBody, facts: { date: string }): RecordBody {
  const { bpSystolic, bpDiastolic } = body.vitals;
  if ((bpSystolic == null) !== (bpDiastolic == null)) {
    throw invalidField('body.vitals', 'needs both bpSystolic and bpDiastolic, or neither');
  }
  if (bpSystolic != null && bpDiastolic != null && bpDiastolic >= bpSystolic) {
    throw invalidField('body.vitals.bpDiastolic', 'must be lower than bpSystolic');
  }
  if (body.followUpDate && body.followUpDate < facts.date) {
    throw invalidField('body.followUpDate', 'must not be before the visit');
  }
  return body;
}
