// The admin doctor list (reached through DoctorsService.listForAdmin): pages of doctors with their contact
// details, specializations and qualifications, so an admin can decide on verification without opening each.
import type { Static } from '@sinclair/typebox';
import type { DB } from '../../db/database.js';
import { invalidField } from '../../errors.js';
import { decodeCursor, encodeCursor, UUID_PATTERN } from '../../lib/schema.js';
import * as repo from './doctors-admin.repository.js';
import type { AdminDoctorQuerySchema } from './doctors-admin.schema.js';

const MICROSECOND_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A cursor this list handed out, or 400: a tampered cursor must not silently restart the list. */
function readCursor(cursor: string | undefined): [string, string] | null {
  if (cursor === undefined) return null;
  const values = decodeCursor<unknown[]>(cursor, 2);
  const [at, id] = values ?? [];
  if (
    typeof at !== 'string' ||
    !MICROSECOND_INSTANT.test(at) ||
    Number.isNaN(Date.parse(at)) ||
    typeof id !== 'string' ||
    !UUID_PATTERN.test(id)
  ) {
    throw invalidField('querystring.cursor', 'is not a cursor of this list');
  }
  return [at, id];
}

/** Groups rows by their doctorId, dropping that column. */
function byDoctor<T extends { doctorId: string }>(rows: T[]): Map<string, Omit<T, 'doctorId'>[]> {
  const out = new Map<string, Omit<T, 'doctorId'>[]>();
  for (const { doctorId, ...rest } of rows) {
    const list = out.get(doctorId) ?? [];
    list.push(rest);
    out.set(doctorId, list);
  }
  return out;
}

export async function listDoctorsForAdmin(db: DB, query: Static<typeof AdminDoctorQuerySchema>) {
  const limit = query.limit ?? 20;
  const rows = await repo.listDoctorsForAdmin(db, {
    verified: query.verified,
    q: query.q?.trim() || undefined,
    after: readCursor(query.cursor),
    limit,
  });
  const page = rows.slice(0, limit);
  const ids = page.map((r) => r.id);
  const [specializations, qualifications] = ids.length
    ? await Promise.all([repo.specializationsOf(db, ids), repo.qualificationsOf(db, ids)])
    : [[], []];
  const specializationsBy = byDoctor(specializations);
  const qualificationsBy = byDoctor(qualifications);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      id: r.id,
      userId: r.userId,
      name: r.name,
      email: r.email,
      phone: r.phone,
      licenseNo: r.licenseNo,
      experienceYears: r.experienceYears,
      photoUrl: r.photoUrl,
      specializations: specializationsBy.get(r.id) ?? [],
      qualifications: qualificationsBy.get(r.id) ?? [],
      createdAt: new Date(r.createdAt).toISOString(),
      verifiedAt: r.verifiedAt ? new Date(r.verifiedAt).toISOString() : null,
    })),
    nextCursor: rows.length > limit && last ? encodeCursor([last.createdKey, last.id]) : null,
  };
}
