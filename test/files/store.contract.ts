// One contract for every BlobStore implementation (run by stores.test.ts against Postgres, PGlite, disk, S3).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  type BlobStore,
  BlobTooLargeError,
  InvalidBlobError,
  MAX_BLOB_BYTES,
} from '../../src/modules/files/files.store.js';

export type BlobStoreFactory = () => Promise<{ store: BlobStore; close: () => Promise<void> }>;

const key = (name: string) => `contract/${randomBytes(4).toString('hex')}/${name}`;

/** `skip`: the reason to report the suite as skipped (its service is unreachable). @default false */
export function blobStoreContract(
  name: string,
  factory: BlobStoreFactory,
  options: { skip?: false | string } = {},
): void {
  describe(`blob store contract [${name}]`, { skip: options.skip ?? false }, () => {
    let store: BlobStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await factory());
    });
    after(async () => {
      await close();
    });

    test('gives back the bytes and content type it was given, byte for byte', async () => {
      const k = key('photo.png');
      const bytes = randomBytes(70_000);
      bytes[0] = 0x0a; // a newline first must not confuse a store that keeps a header
      await store.put(k, bytes, 'image/png');
      const got = await store.get(k);
      assert.ok(got);
      assert.equal(got.contentType, 'image/png');
      assert.ok(Buffer.isBuffer(got.bytes));
      assert.ok(got.bytes.equals(bytes));
    });

    test('an unknown key is null; empty bytes are kept as empty, not as missing', async () => {
      assert.equal(await store.get(key('never-stored')), null);
      const k = key('empty.txt');
      await store.put(k, Buffer.alloc(0), 'text/plain; charset=utf-8');
      const got = await store.get(k);
      assert.ok(got);
      assert.equal(got.bytes.length, 0);
      assert.equal(got.contentType, 'text/plain; charset=utf-8');
    });

    test('a put replaces what the key held, type included', async () => {
      const k = key('a.jpg');
      await store.put(k, Buffer.from('first'), 'image/jpeg');
      await store.put(k, Buffer.from('second, longer'), 'image/webp');
      const got = await store.get(k);
      assert.equal(got?.bytes.toString(), 'second, longer');
      assert.equal(got?.contentType, 'image/webp');
    });

    test('delete removes the key, leaves its neighbours, and deleting a missing key is fine', async () => {
      const dir = key('');
      await store.put(`${dir}one`, Buffer.from('1'), 'text/plain');
      await store.put(`${dir}two`, Buffer.from('2'), 'text/plain');
      await store.delete(`${dir}one`);
      assert.equal(await store.get(`${dir}one`), null);
      assert.equal((await store.get(`${dir}two`))?.bytes.toString(), '2');
      await store.delete(`${dir}one`);
      await store.delete(key('never-stored'));
    });

    test('bytes past the size limit are refused with BlobTooLargeError (413) and nothing is stored', async () => {
      const k = key('big.bin');
      await assert.rejects(
        store.put(k, Buffer.alloc(MAX_BLOB_BYTES + 1), 'application/octet-stream'),
        (err) => {
          assert.ok(err instanceof BlobTooLargeError);
          assert.equal(err.code, 'PAYLOAD_TOO_LARGE');
          assert.equal(err.statusCode, 413);
          return true;
        },
      );
      assert.equal(await store.get(k), null);
      await store.put(k, Buffer.alloc(MAX_BLOB_BYTES), 'application/octet-stream');
      assert.equal((await store.get(k))?.bytes.length, MAX_BLOB_BYTES);
      await store.delete(k);
    });

    test('keys that could leave the store (.., absolute, empty segments, odd characters) are refused', async () => {
      for (const bad of [
        '../escape',
        'a/../../escape',
        '/etc/passwd',
        'a//b',
        'a/',
        '.hidden',
        'a/./b',
        'a\\b',
        'é',
        '',
        'x'.repeat(513),
      ]) {
        await assert.rejects(store.put(bad, Buffer.from('x'), 'text/plain'), InvalidBlobError, bad);
        await assert.rejects(store.get(bad), InvalidBlobError, bad);
        await assert.rejects(store.delete(bad), InvalidBlobError, bad);
      }
      await assert.rejects(store.put(key('ok'), Buffer.from('x'), 'not a type\n'), InvalidBlobError);
    });

    test('concurrent puts of different keys all land', async () => {
      const keys = Array.from({ length: 12 }, (_, i) => key(`n${i}`));
      await Promise.all(keys.map((k, i) => store.put(k, Buffer.from(`v${i}`), 'text/plain')));
      const got = await Promise.all(keys.map((k) => store.get(k)));
      assert.deepEqual(
        got.map((g) => g?.bytes.toString()),
        keys.map((_, i) => `v${i}`),
      );
    });
  });
}
