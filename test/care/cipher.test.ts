// The cipher alone: a value opens only with its key and where it was sealed, never twice the same bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { CipherError, Keyring, keyIdOf, sealedKeyId } from '../../src/lib/cipher.js';

const keyA = randomBytes(32);
const keyB = randomBytes(32);

describe('Keyring', () => {
  test('seals under the current key with a fresh nonce and opens where it was sealed', () => {
    const ring = new Keyring(keyA);
    const one = ring.sealJson({ diagnosis: 'flu' }, 'visit_records:1');
    const two = ring.sealJson({ diagnosis: 'flu' }, 'visit_records:1');
    assert.notDeepEqual(one, two, 'the same value never seals to the same bytes');
    assert.equal(sealedKeyId(one), keyIdOf(keyA));
    assert.equal(ring.currentId, keyIdOf(keyA));
    assert.deepEqual(ring.openJson(one, 'visit_records:1'), { diagnosis: 'flu' });
    assert.ok(!one.toString('latin1').includes('flu'));
  });

  test('a value read back as a plain Uint8Array (PGlite bytea) opens like a Buffer', () => {
    const ring = new Keyring(keyA);
    const sealed = ring.seal(Buffer.from('allergies: none'), 'visit_records:1');
    const plain = new Uint8Array(sealed) as Buffer;
    assert.equal(sealedKeyId(plain), sealedKeyId(sealed));
    assert.equal(ring.open(plain, 'visit_records:1').toString(), 'allergies: none');
  });

  test('a value moved to another row, tampered with or under an unknown key does not open', () => {
    const ring = new Keyring(keyA);
    const sealed = ring.seal(Buffer.from('asthma'), 'visit_records:1');
    assert.throws(() => ring.open(sealed, 'visit_records:2'), CipherError);
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] ^= 1;
    assert.throws(() => ring.open(flipped, 'visit_records:1'), CipherError);
    assert.throws(() => new Keyring(keyB).open(sealed, 'visit_records:1'), /no key with id/);
    assert.throws(() => ring.open(Buffer.from('plain'), 'visit_records:1'), /not a sealed value/);
  });

  test('a previous key still opens old values; new ones go under the current key', () => {
    const old = new Keyring(keyA).seal(Buffer.from('x'), 'a');
    const ring = new Keyring(keyB, [keyA]);
    assert.equal(ring.open(old, 'a').toString(), 'x');
    assert.equal(sealedKeyId(ring.seal(Buffer.from('x'), 'a')), keyIdOf(keyB));
    assert.deepEqual(ring.ids, [keyIdOf(keyB), keyIdOf(keyA)]);
    assert.throws(() => new Keyring(randomBytes(16)), CipherError);
  });
});
