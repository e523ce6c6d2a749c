// The encryption keys of the care records: checked at start (a wrong key stops the server with a clear
// message instead of failing reads later), and a rotation that re-seals every sealed value and attachment
// under the current key in batches. Restartable: what is already under the current key is passed over.
import { ConfigError } from '../../config.js';
import type { DB } from '../../db/database.js';
import { CipherError, type Keyring } from '../../lib/cipher.js';
import type { BlobStore } from '../files/files.store.js';
import * as repo from './care.repository.js';

const CHECK_AAD = 'care_key_checks';
const CHECK_TEXT = 'carequeue key check';

/** Every sealed column, and what names its row (the value's associated data is `table:id[:id]`). */
const SEALED: repo.SealedColumn[] = [
  { table: 'medical_histories', column: 'body', idColumns: ['profile_id'] },
  { table: 'visit_records', column: 'body', idColumns: ['id'] },
  { table: 'visit_record_versions', column: 'body', idColumns: ['record_id', 'version'] },
  { table: 'prescriptions', column: 'body', idColumns: ['id'] },
  { table: 'record_attachments', column: 'meta', idColumns: ['id'] },
];

/** Associated data of a sealed value: the table and the row it belongs to. */
export const aadOf = (table: repo.SealedColumn['table'], ...ids: (string | number)[]) =>
  `${table}:${ids.join(':')}`;

/** Associated data of an attachment's bytes in the blob store. */
export const blobAad = (attachmentId: string) => `record_attachments:${attachmentId}:blob`;

/**
 * Checks the configured keys against the database. The first start records a check value under the key.
 * A later start needs ENCRYPTION_KEY to open its check value — or, while a rotation is due, the
 * ENCRYPTION_KEY_PREVIOUS to open the old one (the new key's check is then recorded). Throws ConfigError.
 */
export async function verifyKeyring(db: DB, keyring: Keyring): Promise<void> {
  const checks = await repo.listKeyChecks(db);
  const known = checks.filter((c) => keyring.ids.includes(c.keyId));
  for (const check of known) {
    try {
      if (keyring.open(check.sealed, CHECK_AAD).toString() !== CHECK_TEXT) throw new CipherError('mismatch');
    } catch {
      throw new ConfigError(`ENCRYPTION_KEY: the key with id ${check.keyId} does not open its check value`);
    }
  }
  if (checks.length > 0 && known.length === 0) {
    throw new ConfigError(
      `ENCRYPTION_KEY: not the key this database's care records are encrypted with (database keys: ${checks
        .map((c) => c.keyId)
        .join(', ')}; configured: ${keyring.ids.join(', ')}). ` +
        'To rotate, set the old key as ENCRYPTION_KEY_PREVIOUS and run `npm run cli -- rotate-key`.',
    );
  }
  if (!checks.some((c) => c.keyId === keyring.currentId)) {
    await repo.insertKeyCheck(db, keyring.currentId, keyring.seal(Buffer.from(CHECK_TEXT), CHECK_AAD));
  }
}

export interface RotationProgress {
  table: string;
  /** Values re-sealed so far, over every table. */
  values: number;
}

export interface RotationReport {
  values: number;
  attachments: number;
}

/** Re-seals everything under the current key, `batchSize` rows per transaction; then forgets older keys. */
export async function rotateKeys(
  deps: { db: DB; keyring: Keyring; blobs: BlobStore; onBatch?: (progress: RotationProgress) => void },
  batchSize = 200,
): Promise<RotationReport> {
  const report: RotationReport = { values: 0, attachments: 0 };
  const { db, keyring } = deps;
  for (const spec of SEALED) {
    for (;;) {
      const done = await db.transaction().execute(async (trx) => {
        const rows = await repo.lockStaleRows(trx, spec, keyring.currentId, batchSize);
        for (const row of rows) {
          const aad = aadOf(spec.table, ...row.ids);
          await repo.resealRow(
            trx,
            spec,
            row.ids,
            keyring.seal(keyring.open(row.sealed, aad), aad),
            keyring.currentId,
          );
          if (spec.table === 'record_attachments') {
            await resealBlob(trx, deps, row.ids[0]);
            report.attachments++;
          }
        }
        report.values += rows.length;
        return rows.length < batchSize;
      });
      deps.onBatch?.({ table: spec.table, values: report.values });
      if (done) break;
    }
  }
  await repo.deleteKeyChecksExcept(db, keyring.currentId);
  return report;
}

/** The blob is re-sealed before its row's key id moves, so a crash between the two only repeats the work. */
async function resealBlob(
  trx: Parameters<typeof repo.attachmentBlobKey>[0],
  deps: { keyring: Keyring; blobs: BlobStore },
  id: string,
) {
  const { blobKey } = await repo.attachmentBlobKey(trx, id);
  const stored = await deps.blobs.get(blobKey);
  if (!stored) return;
  const aad = blobAad(id);
  await deps.blobs.put(
    blobKey,
    deps.keyring.seal(deps.keyring.open(stored.bytes, aad), aad),
    stored.contentType,
  );
}
