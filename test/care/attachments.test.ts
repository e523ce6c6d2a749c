// Attachments over HTTP: PDF, JPEG and PNG by their bytes (never the client's word), at most 10 MB, sealed
// before the shared blob store, downloaded only by those who may read the record, always as a download.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import QRCode from 'qrcode';
import { keyIdOf } from '../../src/lib/cipher.js';
import { ATTACHMENT_MAX_BYTES } from '../../src/modules/care/care.attachments.service.js';
import { buildTestApp } from '../helpers/app.js';
import { multipart } from '../helpers/multipart.js';
import { skipWithout } from '../helpers/services.js';
import type { TestUser } from '../helpers/users.js';
import { call, careFixture, startOn, writtenRecord } from './fixtures.js';

const skip = await skipWithout('postgres');

function upload(app: FastifyInstance, user: TestUser, recordId: string, file: ReturnType<typeof multipart>) {
  return app.inject({
    method: 'POST',
    url: `/v1/records/${recordId}/attachments`,
    headers: { ...user.auth, ...file.headers },
    payload: file.payload,
  });
}

const countAttachments = async (app: FastifyInstance) =>
  Number(
    (
      await app.db
        .selectFrom('recordAttachments')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('attachments', { skip }, () => {
  test('the record’s doctor attaches a lab result; readers download it; the stored bytes are sealed', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 2);
    const [p1, p2] = f.patients;
    const recordId = await writtenRecord(app, f, p1);
    const secret = `haemoglobin-${randomBytes(6).toString('hex')}`;
    const pdf = Buffer.from(`%PDF-1.4\n1 0 obj << /Title (${secret}) >> endobj\ntrailer << >>\n%%EOF\n`);

    const res = await upload(
      app,
      f.doctor,
      recordId,
      multipart('file', '../../Blood test.PDF', 'text/plain', pdf),
    );
    assert.equal(res.statusCode, 201, res.body);
    const attachment = res.json();
    assert.equal(attachment.contentType, 'application/pdf', 'the bytes decide, not the client');
    assert.equal(attachment.fileName, 'Blood_test.pdf');
    assert.equal(attachment.size, pdf.length);
    const record = await call(app, p1, 'GET', `/v1/records/${recordId}`);
    assert.deepEqual(
      record.json().attachments.map((a: { id: string }) => a.id),
      [attachment.id],
    );

    const download = await call(app, p1, 'GET', `/v1/attachments/${attachment.id}`);
    assert.equal(download.statusCode, 200);
    assert.equal(download.headers['content-type'], 'application/pdf');
    assert.equal(download.headers['content-disposition'], 'attachment; filename="Blood_test.pdf"');
    assert.deepEqual(download.rawPayload, pdf);
    assert.equal((await call(app, f.doctor, 'GET', `/v1/attachments/${attachment.id}`)).statusCode, 200);
    assert.equal((await call(app, p2, 'GET', `/v1/attachments/${attachment.id}`)).statusCode, 404);
    for (const other of [f.otherDoctor, f.staff, f.admin]) {
      assert.equal(
        (await call(app, other, 'GET', `/v1/attachments/${attachment.id}`)).statusCode,
        403,
        other.role,
      );
    }

    // The blobs table is the files module's (the Postgres store); read it as raw rows.
    const raw = await sql<{ key: string; bytes: Buffer }>`select key, bytes from blobs`.execute(app.db);
    const stored = raw.rows.find((b) => b.key.includes(attachment.id));
    assert.ok(stored, 'the attachment is in the shared store');
    const bytes = Buffer.from(stored.bytes);
    assert.ok(!bytes.toString('latin1').includes(secret), 'no plain text in the stored blob');
    assert.ok(!bytes.toString('latin1').includes('%PDF'));
    const meta = await app.db.selectFrom('recordAttachments').select('meta').executeTakeFirstOrThrow();
    assert.ok(!Buffer.from(meta.meta).toString('latin1').includes('Blood'), 'the file name is sealed too');
  });

  test('PNG and JPEG are taken; other bytes, wrong fields, too large and the wrong people are refused', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 1);
    const [p1] = f.patients;
    const recordId = await writtenRecord(app, f, p1);
    const png = await QRCode.toBuffer('x-ray', { type: 'png' });
    const jpeg = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
      Buffer.from('JFIF\0'),
      randomBytes(64),
    ]);
    assert.equal(
      (await upload(app, f.doctor, recordId, multipart('file', 'scan.png', 'image/png', png))).json()
        .contentType,
      'image/png',
    );
    assert.equal(
      (await upload(app, f.doctor, recordId, multipart('file', 'x.jpg', 'image/jpeg', jpeg))).json()
        .contentType,
      'image/jpeg',
    );
    const before = await countAttachments(app);

    const refusals: [TestUser, ReturnType<typeof multipart>, number][] = [
      [f.doctor, multipart('file', 'x.png', 'image/png', Buffer.from('<script>alert(1)</script>')), 415],
      [f.doctor, multipart('file', 'x.gif', 'image/gif', Buffer.from('GIF89a\x01\x00\x01\x00')), 415],
      [f.doctor, multipart('photo', 'x.png', 'image/png', png), 400],
      [
        f.doctor,
        multipart(
          'file',
          'big.pdf',
          'application/pdf',
          Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(ATTACHMENT_MAX_BYTES)]),
        ),
        413,
      ],
      [f.otherDoctor, multipart('file', 'x.png', 'image/png', png), 403],
      [p1, multipart('file', 'x.png', 'image/png', png), 403],
      [f.staff, multipart('file', 'x.png', 'image/png', png), 403],
    ];
    for (const [user, file, status] of refusals) {
      const res = await upload(app, user, recordId, file);
      assert.equal(res.statusCode, status, `${user.role}: ${res.body}`);
      assert.ok(res.json().code, 'the error shape');
    }
    const json = await call(app, f.doctor, 'POST', `/v1/records/${recordId}/attachments`, { file: 'x' });
    assert.equal(json.statusCode, 415);
    assert.equal(await countAttachments(app), before, 'nothing partly written');
    assert.equal((await call(app, p1, 'GET', `/v1/attachments/${crypto.randomUUID()}`)).statusCode, 404);
  });

  test('a key rotation re-seals the stored bytes; the file still downloads under the new key', async (t) => {
    const oldKey = randomBytes(32).toString('hex');
    const newKey = randomBytes(32).toString('hex');
    const { app, databaseUrl } = await buildTestApp(t, {
      backend: 'postgres',
      env: { ENCRYPTION_KEY: oldKey },
    });
    const f = await careFixture(app, 1);
    const recordId = await writtenRecord(app, f, f.patients[0]);
    const png = await QRCode.toBuffer('lab result', { type: 'png' });
    const id = (await upload(app, f.doctor, recordId, multipart('file', 'lab.png', 'image/png', png))).json()
      .id;
    const storedBytes = async () =>
      (await sql<{ bytes: Buffer }>`select bytes from blobs where key like ${`%${id}`}`.execute(app.db))
        .rows[0].bytes;
    const before = Buffer.from(await storedBytes());

    const rotating = await startOn(databaseUrl!, newKey, oldKey);
    t.after(() => rotating.close());
    assert.deepEqual(await rotating.care.rotateKeys(), { values: 2, attachments: 1 });
    const after = Buffer.from(await storedBytes());
    assert.notDeepEqual(after, before);
    assert.equal(
      after.subarray(1, 9).toString('hex'),
      keyIdOf(Buffer.from(newKey, 'hex')),
      'the blob names the new key',
    );
    const fresh = await startOn(databaseUrl!, newKey);
    t.after(() => fresh.close());
    const download = await call(fresh, f.patients[0], 'GET', `/v1/attachments/${id}`);
    assert.equal(download.statusCode, 200);
    assert.deepEqual(download.rawPayload, png);
  });
});
