// Encryption at rest: AES-256-GCM with a fresh 12-byte nonce per value, sealed into one self-describing
// envelope (format byte, key id, nonce, tag, ciphertext). The key id is a short hash of the key, so a value
// names the key that opens it and a rotation can tell what is still under an old key. Each value is bound
// to where it lives (`aad`, e.g. `visit_records:<id>`): a ciphertext copied to another row does not open.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const FORMAT = 1;
const KEY_ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES;
/** How many bytes sealing adds to a value. */
export const SEALED_OVERHEAD = HEADER_BYTES;

export class CipherError extends Error {
  override name = 'CipherError';
}

/** The id stored beside every value sealed under this key: the first 8 bytes of its SHA-256, as hex. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256')
    .update('carequeue-key-id')
    .update(key)
    .digest()
    .subarray(0, KEY_ID_BYTES)
    .toString('hex');
}

/** The current key (everything new is sealed under it) and older keys that may still open values. */
export class Keyring {
  readonly currentId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(current: Buffer, previous: Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== 32) throw new CipherError('an encryption key must be 32 bytes');
      this.keys.set(keyIdOf(key), key);
    }
    this.currentId = keyIdOf(current);
  }

  /** Ids of every key this ring holds, the current one first. */
  get ids(): string[] {
    return [...this.keys.keys()];
  }

  seal(plain: Buffer, aad: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(this.currentId), nonce);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([
      Buffer.from([FORMAT]),
      Buffer.from(this.currentId, 'hex'),
      nonce,
      cipher.getAuthTag(),
      body,
    ]);
  }

  /** The plain bytes; throws CipherError for an unknown key, a tampered value or one moved from elsewhere. */
  open(value: Buffer, aad: string): Buffer {
    const sealed = asBuffer(value);
    if (sealed.length < HEADER_BYTES || sealed[0] !== FORMAT) throw new CipherError('not a sealed value');
    const keyId = sealedKeyId(sealed);
    const nonce = sealed.subarray(1 + KEY_ID_BYTES, 1 + KEY_ID_BYTES + NONCE_BYTES);
    const tag = sealed.subarray(HEADER_BYTES - TAG_BYTES, HEADER_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key(keyId), nonce);
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]);
    } catch {
      throw new CipherError(`a value under key ${keyId} failed authentication`);
    }
  }

  sealJson(value: unknown, aad: string): Buffer {
    return this.seal(Buffer.from(JSON.stringify(value)), aad);
  }

  openJson<T>(sealed: Buffer, aad: string): T {
    return JSON.parse(this.open(sealed, aad).toString('utf8')) as T;
  }

  private key(id: string): Buffer {
    const key = this.keys.get(id);
    if (!key)
      throw new CipherError(`no key with id ${id} is configured (ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS)`);
    return key;
  }
}

/** The id of the key a sealed value was made under. */
export function sealedKeyId(sealed: Buffer): string {
  return asBuffer(sealed)
    .subarray(1, 1 + KEY_ID_BYTES)
    .toString('hex');
}

/** PGlite hands bytea back as a plain Uint8Array, whose toString ignores encodings: view it as a Buffer. */
function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
