// The care module's parts, built once and wired together: the access gate (care.access.ts), medical history,
// visit records, prescriptions and attachments. Routes call the part that does the work.
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import type { Keyring } from '../../lib/cipher.js';
import type { AccountAdmin } from '../accounts/accounts.admin.service.js';
import type { AppointmentReads } from '../appointments/appointments.reads.js';
import type { BlobStore } from '../files/files.store.js';
import { CareAccess } from './care.access.js';
import { CareAttachments } from './care.attachments.service.js';
import { CareHistory } from './care.history.service.js';
import { type RotationProgress, rotateKeys, verifyKeyring } from './care.keys.service.js';
import { CarePrescriptions } from './care.prescriptions.service.js';
import { CareRecords } from './care.records.service.js';

export interface CareDeps {
  db: DB;
  clock: Clock;
  keyring: Keyring;
  blobs: BlobStore;
  audit: Pick<AccountAdmin, 'audit' | 'auditAbout'>;
  appointments: AppointmentReads;
  /** Base of the verification links printed on prescriptions. */
  publicUrl: string;
}

export class CareService {
  readonly access: CareAccess;
  readonly history: CareHistory;
  readonly records: CareRecords;
  readonly prescriptions: CarePrescriptions;
  readonly attachments: CareAttachments;

  constructor(private readonly deps: CareDeps) {
    this.access = new CareAccess(deps);
    this.history = new CareHistory({ ...deps, access: this.access });
    this.records = new CareRecords({
      ...deps,
      access: this.access,
      extras: async (recordId) => ({
        attachments: await this.attachments.ofRecord(recordId),
        prescriptions: await this.prescriptions.ofRecord(recordId),
      }),
    });
    this.prescriptions = new CarePrescriptions({ ...deps, access: this.access, records: this.records });
    this.attachments = new CareAttachments({ ...deps, access: this.access, records: this.records });
  }

  /** Stops the start when ENCRYPTION_KEY is not the key the records are under (ConfigError). */
  verifyKeys(): Promise<void> {
    return verifyKeyring(this.deps.db, this.deps.keyring);
  }

  /** Re-seals every value and attachment under the current key (`npm run cli -- rotate-key`). */
  rotateKeys(onBatch?: (progress: RotationProgress) => void, batchSize?: number) {
    return rotateKeys({ ...this.deps, onBatch }, batchSize);
  }
}
