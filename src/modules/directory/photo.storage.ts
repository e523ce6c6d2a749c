// Doctor photos in the shared blob store (keys `photos/<name>`), so every instance serves every photo.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from '../files/files.store.js';

export const PHOTO_TYPES = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
} as const;
export type PhotoType = keyof typeof PHOTO_TYPES;

/** Generated avatars (seed) are SVG; uploads never are, since an uploaded SVG can carry script. */
const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  svg: 'image/svg+xml',
};

export const PHOTO_NAME_PATTERN = '^[a-z0-9-]{8,80}\\.(jpg|png|webp|svg)$';
const NAME = new RegExp(PHOTO_NAME_PATTERN);

export interface PhotoStorage {
  /** Stores the bytes and returns the name to serve them under. */
  put(prefix: string, ext: string, bytes: Buffer): Promise<string>;
  get(name: string): Promise<{ bytes: Buffer; contentType: string } | null>;
  remove(name: string): Promise<void>;
}

/** The image type the bytes really are (by their magic numbers), or null: the client's word is not trusted. */
export function sniffImageType(bytes: Buffer): PhotoType | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (
    bytes.length >= 8 &&
    bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  )
    return 'image/png';
  if (
    bytes.length >= 12 &&
    bytes.subarray(0, 4).toString('latin1') === 'RIFF' &&
    bytes.subarray(8, 12).toString('latin1') === 'WEBP'
  )
    return 'image/webp';
  return null;
}

export class BlobPhotoStorage implements PhotoStorage {
  constructor(private readonly blobs: BlobStore) {}

  async put(prefix: string, ext: string, bytes: Buffer): Promise<string> {
    const name = `${prefix.toLowerCase().replace(/[^a-z0-9-]/g, '')}-${randomBytes(6).toString('hex')}.${ext}`;
    const contentType = CONTENT_TYPES[ext];
    if (!NAME.test(name) || !contentType) throw new Error(`bad photo name ${name}`);
    await this.blobs.put(`photos/${name}`, bytes, contentType);
    return name;
  }

  async get(name: string) {
    return NAME.test(name) ? this.blobs.get(`photos/${name}`) : null;
  }

  async remove(name: string): Promise<void> {
    if (NAME.test(name)) await this.blobs.delete(`photos/${name}`);
  }
}

/**
 * Moves photos an earlier release kept on this instance's disk (DATA_DIR/uploads) into the blob store under
 * the same names, so their URLs keep working; each instance moves its own. Returns how many were moved.
 */
export async function importDiskPhotos(dir: string, blobs: BlobStore): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return 0;
    throw err;
  }
  let moved = 0;
  for (const name of names.filter((n) => NAME.test(n))) {
    const contentType = CONTENT_TYPES[name.split('.').pop() ?? ''];
    await blobs.put(`photos/${name}`, await readFile(join(dir, name)), contentType);
    await rm(join(dir, name));
    moved++;
  }
  // Left in place if anything else is in it.
  await rmdir(dir).catch(() => {});
  return moved;
}

/** The public URL a stored photo is served at. */
export const photoUrl = (name: string) => `/v1/photos/${name}`;
export const photoNameOf = (url: string | null) =>
  url?.startsWith('/v1/photos/') ? url.slice('/v1/photos/'.length) : null;

/** A simple initials avatar, for the demo seed. */
export function initialsAvatar(name: string, hue: number): Buffer {
  const initials = name
    .replace(/^Dr\.?\s+/i, '')
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() ?? '')
    .slice(0, 2)
    .join('')
    .replace(/[^A-Z]/g, '');
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">` +
      `<rect width="256" height="256" rx="128" fill="hsl(${Math.round(hue) % 360},55%,45%)"/>` +
      `<text x="128" y="150" font-family="Helvetica,Arial,sans-serif" font-size="96" font-weight="600" ` +
      `fill="#fff" text-anchor="middle">${initials}</text></svg>`,
  );
}
