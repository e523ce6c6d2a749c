// scrypt password hashing from node:crypto (the parameters are stored with each hash so they can be raised),
// and the rules a new password must pass.
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(
      password.normalize('NFKC'),
      salt,
      KEY_LENGTH,
      { N: n, r, p, maxmem: 64 * 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A fixed hash to verify against when the account does not exist, so timing does not reveal accounts. */
export const DUMMY_HASH = `scrypt$${N}$${R}$${P}$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(KEY_LENGTH).toString('base64')}`;

// Password rules (NIST SP 800-63B 3.1.1.2): at least 8 characters (the schemas), and not a value known to be
// common, repetitive or sequential, or taken from the account itself. No composition rules.

let common: Promise<ReadonlySet<string>> | undefined;

/** The ~49,000 most common passwords of zxcvbn-ts's maintained list, loaded on first use (≈ 0.1 s). */
function commonPasswords(): Promise<ReadonlySet<string>> {
  common ??= import('@zxcvbn-ts/language-common').then(
    ({ dictionary }) => new Set(dictionary['passwords-common'].map((p) => p.toLowerCase())),
  );
  return common;
}

const SEQUENCES = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

function repetitiveOrSequential(folded: string): boolean {
  if (new Set(folded).size <= 2) return true;
  return SEQUENCES.some((s) => s.includes(folded) || [...s].reverse().join('').includes(folded));
}

/** Folds case, width and spacing so `Password`, `ｐａｓｓｗｏｒｄ` and ` password ` compare alike. */
function fold(value: string): string {
  return value.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * Why a new password is refused, as the tail of a field message ("is too common…"), or null when it is fine.
 * `context` holds what an attacker would try first: the account's e-mail and name.
 */
export async function passwordProblem(
  password: string,
  context: { email?: string | null; name?: string | null } = {},
): Promise<string | null> {
  const folded = fold(password);
  const email = context.email ? fold(context.email) : '';
  const personal = [email, email.split('@')[0], context.name ? fold(context.name) : '', 'carequeue'].filter(
    (v) => v.length > 0,
  );
  if (personal.some((v) => folded === v || folded.replace(/[\s._-]/g, '') === v.replace(/[\s._-]/g, ''))) {
    return 'must not be your e-mail address, your name or the name of this service';
  }
  if (repetitiveOrSequential(folded)) return 'must not be a repeated or sequential run of characters';
  if ((await commonPasswords()).has(folded))
    return 'is too common: choose a longer phrase nobody would guess';
  return null;
}
