// Lab results and other attachments on a visit record: PDF, JPEG or PNG by their bytes (never the client's
// word), at most ATTACHMENT_MAX_BYTES, sealed before they reach the shared blob store. Uploaded by the
// doctor who may write the record; downloaded by those who may read it.
import { randomUUID } from 'node:crypto';
import { fileTypeFromBuffer } from 'file-type';
import type { DB } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { type Keyring, SEALED_OVERHEAD } from '../../lib/cipher.js';
import type { BlobStore } from '../files/files.store.js';
import type { CareAccess } from './care.access.js';
import { aadOf, blobAad } from './care.keys.service.js';
import type { CareRecords } from './care.records.service.js';
import * as repo from './care.repository.js';
import type { Viewer } from './care.rules.js';
import type { AttachmentRow } from './care.table.js';

/** 10 MB, less what sealing adds, so the sealed bytes fit the blob store's own limit. */
export const ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024 - SEALED_OVERHEAD;
export const ATTACHMENT_TYPES = ['application/pdf', 'image/jpeg', 'image/png'] as const;

const EXTENSIONS: Record<string, string> = {
  'application/pdf': 'pdf',
  'image/jpeg': 'jpg',
  'image/png': 'png',
};

export interface CareAttachmentsDeps {
  db: DB;
  keyring: Keyring;
  blobs: BlobStore;
  access: CareAccess;
  records: Pick<CareRecords, 'readable' | 'writable'>;
}

/** A name safe to put in a Content-Disposition header: letters, digits, dots, dashes; the real extension. */
function safeFileName(name: string | undefined, contentType: string): string {
  const base = (name ?? '')
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 100);
  return `${base || 'attachment'}.${EXTENSIONS[contentType]}`;
}

export class CareAttachments {
  constructor(private readonly deps: CareAttachmentsDeps) {}

  async upload(viewer: Viewer, recordId: string, file: { bytes: Buffer; fileName?: string }) {
    const { gate } = await this.deps.records.writable(viewer, recordId);
    if (file.bytes.length === 0) {
      throw new AppError('VALIDATION_FAILED', 'body.file is empty', [
        { field: 'body.file', message: 'is empty' },
      ]);
    }
    if (file.bytes.length > ATTACHMENT_MAX_BYTES) {
      throw new AppError('PAYLOAD_TOO_LARGE', `An attachment may be at most ${ATTACHMENT_MAX_BYTES} bytes`);
    }
    const sniffed = await fileTypeFromBuffer(file.bytes);
    const contentType = ATTACHMENT_TYPES.find((t) => t === sniffed?.mime);
    if (!contentType) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'An attachment must be a PDF, JPEG or PNG file');
    }
    const id = randomUUID();
    const blobKey = `records/${recordId}/${id}`;
    await this.deps.blobs.put(
      blobKey,
      this.deps.keyring.seal(file.bytes, blobAad(id)),
      'application/octet-stream',
    );
    try {
      const row = await this.deps.db.transaction().execute(async (trx) => {
        const inserted = await repo.insertAttachment(trx, {
          id,
          recordId,
          keyId: this.deps.keyring.currentId,
          meta: this.deps.keyring.sealJson(
            { fileName: safeFileName(file.fileName, contentType) },
            aadOf('record_attachments', id),
          ),
          contentType,
          sizeBytes: file.bytes.length,
          blobKey,
          uploadedBy: viewer.id,
        });
        await this.deps.access.note(viewer, gate, 'attachment.write', { recordId, attachmentId: id }, trx);
        return inserted;
      });
      return this.view(row);
    } catch (err) {
      await this.deps.blobs.delete(blobKey);
      throw err;
    }
  }

  /** The record's attachments as shown inside it (the caller has checked the record may be read). */
  async ofRecord(recordId: string) {
    return (await repo.listAttachments(this.deps.db, recordId)).map((r) => this.view(r));
  }

  async download(viewer: Viewer, id: string) {
    const row = await repo.findAttachment(this.deps.db, id);
    if (!row) throw notFound('Attachment');
    const { gate } = await this.deps.records.readable(viewer, row.recordId);
    const stored = await this.deps.blobs.get(row.blobKey);
    if (!stored) throw notFound('Attachment');
    await this.deps.access.note(viewer, gate, 'attachment.read', {
      recordId: row.recordId,
      attachmentId: id,
    });
    return {
      bytes: this.deps.keyring.open(stored.bytes, blobAad(id)),
      contentType: row.contentType,
      fileName: this.view(row).fileName,
    };
  }

  private view(row: AttachmentRow) {
    const meta = this.deps.keyring.openJson<{ fileName: string }>(
      row.meta,
      aadOf('record_attachments', row.id),
    );
    return {
      id: row.id,
      recordId: row.recordId,
      fileName: meta.fileName,
      contentType: row.contentType,
      size: row.sizeBytes,
      createdAt: row.createdAt.toISOString(),
    };
  }
}
