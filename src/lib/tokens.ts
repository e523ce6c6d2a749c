import { createHash, randomBytes } from 'node:crypto';

/** An opaque random token (refresh, tracking) and the SHA-256 we store in its place. */
export function newOpaqueToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
