// A patient profile's medical history: one sealed document per profile, read and written by its owner and
// by doctors who see the patient (each such access audited).
import type { Static } from '@sinclair/typebox';
import type { DB } from '../../db/database.js';
import type { Keyring } from '../../lib/cipher.js';
import type { CareAccess } from './care.access.js';
import { aadOf } from './care.keys.service.js';
import * as repo from './care.repository.js';
import type { Viewer } from './care.rules.js';
import type { HistoryBody, HistoryUpdateSchema } from './care.schema.js';

const EMPTY: HistoryBody = {
  allergies: [],
  chronicConditions: [],
  currentMedications: [],
  bloodGroup: null,
  notes: null,
};

export class CareHistory {
  constructor(private readonly deps: { db: DB; keyring: Keyring; access: CareAccess }) {}

  async get(viewer: Viewer, profileId: string) {
    const gate = await this.deps.access.require(viewer, profileId);
    const row = await repo.findHistory(this.deps.db, profileId);
    await this.deps.access.note(viewer, gate, 'history.read');
    return this.view(profileId, row);
  }

  async update(viewer: Viewer, profileId: string, changes: Static<typeof HistoryUpdateSchema>) {
    const gate = await this.deps.access.require(viewer, profileId);
    const row = await this.deps.db.transaction().execute(async (trx) => {
      const current = await repo.lockHistory(trx, profileId);
      const body: HistoryBody = { ...this.open(profileId, current), ...changes };
      const saved = await repo.upsertHistory(trx, {
        profileId,
        keyId: this.deps.keyring.currentId,
        body: this.deps.keyring.sealJson(body, aadOf('medical_histories', profileId)),
        updatedBy: viewer.id,
      });
      await this.deps.access.note(viewer, gate, 'history.write', {}, trx);
      return saved;
    });
    return this.view(profileId, row);
  }

  private open(profileId: string, row: { body: Buffer } | undefined): HistoryBody {
    if (!row) return EMPTY;
    return {
      ...EMPTY,
      ...this.deps.keyring.openJson<HistoryBody>(row.body, aadOf('medical_histories', profileId)),
    };
  }

  private view(profileId: string, row: { body: Buffer; updatedAt: Date } | undefined) {
    return { profileId, ...this.open(profileId, row), updatedAt: row ? row.updatedAt.toISOString() : null };
  }
}
