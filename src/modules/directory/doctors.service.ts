// Doctors: public search, profiles (cached), self/admin edits, verification and photos.
import { createHash } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { DateTime } from 'luxon';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError, forbidden, invalidField, notFound } from '../../errors.js';
import type { DomainEvents } from '../../events.js';
import { decodeCursor, encodeCursor, UUID_PATTERN } from '../../lib/schema.js';
import type { Cache } from '../../plugins/cache.js';
import type { Role } from '../accounts/accounts.table.js';
import type { DoctorQuerySchema, DoctorSort, DoctorUpdateSchema } from './directory.schema.js';
import { subscribeDoctorAccounts } from './doctors.accounts.js';
import * as repo from './doctors.repository.js';
import type { AdminDoctorQuerySchema } from './doctors-admin.schema.js';
import { listDoctorsForAdmin } from './doctors-admin.service.js';
import { PHOTO_TYPES, type PhotoStorage, photoNameOf, photoUrl, sniffImageType } from './photo.storage.js';
import * as soonest from './soonest.repository.js';

export interface Viewer {
  id: string;
  role: Role;
  doctorId: string | null;
}

export interface DoctorsDeps {
  db: DB;
  clock: Clock;
  cache: Cache;
  photos: PhotoStorage;
}

export const PROFILE_TTL_SECONDS = 300;
export const POPULAR_TTL_SECONDS = 60;
/**
 * Search pages are cached briefly. Directory writes bump the `search` generation before they return, so those
 * show at once; rows other modules own (sessions, time off) show within this many seconds.
 */
export const SEARCH_TTL_SECONDS = 10;
const SEARCH_GENERATION = 'search';
/** Queue changes that can make a day bookable or not: a place taken or given back, the queue closed. */
export const MAX_PHOTO_BYTES = 2 * 1024 * 1024;

export const profileKey = (id: string) => `doctor:${id}`;

function ratingOf(sum: number, count: number): number | null {
  return count > 0 ? Math.round((sum / count) * 100) / 100 : null;
}

export function toCardView(card: repo.DoctorCard) {
  return {
    id: card.id,
    name: card.name,
    photoUrl: card.photoUrl,
    experienceYears: card.experienceYears,
    rating: ratingOf(card.ratingSum, card.ratingCount),
    ratingCount: card.ratingCount,
    visitCount: Number(card.visitCount),
    specializations: card.specializations,
    cities: card.cities,
  };
}

/**
 * What a search result depends on besides the generation: the normalised filters (names compare
 * case-insensitively, so they are lower-cased), the page and the day (weekday filters).
 */
function searchDigest(s: repo.DoctorSearch, cursor: string | undefined): string {
  const lower = (v: string | undefined) => v?.toLowerCase() ?? null;
  const key = [
    s.sort,
    s.limit,
    lower(s.q),
    lower(s.city),
    lower(s.specialization),
    lower(s.qualification),
    lower(s.hospitalId),
    lower(s.serviceId),
    s.availableOn ?? null,
    cursor ?? null,
    s.today,
  ];
  return createHash('sha1').update(JSON.stringify(key)).digest('base64url');
}

export type DoctorProfile = Awaited<ReturnType<DoctorsService['loadProfile']>>;

export class DoctorsService {
  constructor(private readonly deps: DoctorsDeps) {}

  // Search ---------------------------------------------------------------------------------------------------

  async search(query: Static<typeof DoctorQuerySchema>) {
    const sort: DoctorSort = query.sort ?? (query.q?.trim() ? 'relevance' : 'name');
    const limit = query.limit ?? 20;
    let after: [number | string, string, string] | null = null;
    if (query.cursor) {
      after = decodeCursor<[number | string, string, string]>(query.cursor, 3);
      const numeric = sort !== 'name' && !(sort === 'relevance' && !query.q?.trim());
      if (
        !after ||
        (numeric ? typeof after[0] !== 'number' : typeof after[0] !== 'string') ||
        typeof after[1] !== 'string' ||
        !UUID_PATTERN.test(after[2])
      )
        throw invalidField('querystring.cursor', 'is not a cursor of this list (was the sort changed?)');
    }
    const search: repo.DoctorSearch = {
      q: query.q?.trim() || undefined,
      city: query.city?.trim() || undefined,
      specialization: query.specialization?.trim() || undefined,
      qualification: query.qualification?.trim() || undefined,
      hospitalId: query.hospitalId,
      serviceId: query.serviceId,
      availableOn: this.parseAvailableOn(query.availableOn),
      sort,
      today: this.deps.clock.now().toISOString().slice(0, 10),
      after,
      limit,
      onlyVerified: true,
    };
    // sort=soonest is cached like any search page: a day that just filled shows as free for at most
    // SEARCH_TTL_SECONDS, and the doctor's availability (what booking reads) is always live.
    const generation = await this.deps.cache.generation(SEARCH_GENERATION);
    const key = `${sort === 'popular' ? 'popular' : 'search'}:${generation}:${searchDigest(search, query.cursor)}`;
    return this.deps.cache.wrapShared(
      key,
      sort === 'popular' ? POPULAR_TTL_SECONDS : SEARCH_TTL_SECONDS,
      () => this.runSearch(search),
    );
  }

  private parseAvailableOn(value: string | undefined): repo.DoctorSearch['availableOn'] {
    if (value === undefined) return undefined;
    if (/^[1-7]$/.test(value)) return { weekday: Number(value) };
    if (!DateTime.fromISO(value).isValid) throw invalidField('querystring.availableOn', 'is not a real date');
    return { date: value };
  }

  private async runSearch(search: repo.DoctorSearch) {
    const rows = await repo.searchDoctors(this.deps.db, search);
    const page = rows.slice(0, search.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => ({
        ...toCardView(row),
        ...(search.sort === 'soonest' ? { soonestDate: row.soonest } : {}),
        ...(search.sort === 'popular' ? { recentVisits: Number(row.recentVisits ?? 0) } : {}),
      })),
      nextCursor:
        rows.length > search.limit && last
          ? encodeCursor([typeof last.k1 === 'string' ? last.k1 : Number(last.k1), last.k2, last.id])
          : null,
    };
  }

  /** Every doctor, unverified ones included, newest registration first: for admins deciding on verification. */
  listForAdmin(query: Static<typeof AdminDoctorQuerySchema>) {
    return listDoctorsForAdmin(this.deps.db, query);
  }

  // Profiles -------------------------------------------------------------------------------------------------

  /** The profile as anyone may see it; unverified doctors only to themselves and admins. */
  async profile(id: string, viewer: Viewer | null) {
    const profile = await this.deps.cache.wrap(profileKey(id), PROFILE_TTL_SECONDS, () =>
      this.loadProfile(id),
    );
    if (!profile) throw notFound('Doctor');
    if (!profile.verified && !this.canManage(viewer, id)) throw notFound('Doctor');
    return profile;
  }

  async loadProfile(id: string) {
    const db = this.deps.db;
    const doctor = await repo.findDoctor(db, id);
    if (!doctor) return undefined;
    const [specializations, qualifications, services, hospitals] = await Promise.all([
      repo.doctorSpecializations(db, id),
      repo.doctorQualifications(db, id),
      repo.doctorServices(db, id),
      repo.doctorHospitals(db, id),
    ]);
    return {
      id: doctor.id,
      name: doctor.name,
      licenseNo: doctor.licenseNo,
      bio: doctor.bio,
      experienceYears: doctor.experienceYears,
      photoUrl: doctor.photoUrl,
      verified: doctor.verifiedAt !== null,
      rating: ratingOf(doctor.ratingSum, doctor.ratingCount),
      ratingCount: doctor.ratingCount,
      visitCount: doctor.visitCount,
      specializations,
      qualifications: qualifications.map((q) => ({ ...q, institute: q.institute, year: q.year })),
      services: services.map((s) => ({ ...s, fee: Number(s.fee) })),
      hospitals,
    };
  }

  /** Name and photo for booking, queue and notification views. Unknown ids are left out. */
  async summaries(
    ids: string[],
  ): Promise<Map<string, { id: string; name: string; photoUrl: string | null }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.deps.db
      .selectFrom('doctors')
      .select(['id', 'name', 'photoUrl'])
      .where('id', 'in', [...new Set(ids)])
      .execute();
    return new Map(rows.map((r) => [r.id, r]));
  }

  canManage(viewer: Viewer | null, doctorId: string): boolean {
    return (
      viewer !== null &&
      (viewer.role === 'admin' || (viewer.role === 'doctor' && viewer.doctorId === doctorId))
    );
  }

  /**
   * A completed visit raises the doctor's visit count (a trigger keeps the column): drop their cached profile
   * once it commits. Search pages carry the count too and show it within SEARCH_TTL_SECONDS. A schedule change
   * (sessions, time off) changes the hospitals and cities shown: drop the profile and the search pages. Both,
   * and a queue day filling (its last place booked), freeing up or closing, move the doctor's stored soonest
   * day: recompute it. The doctors row of a doctor account, and its name, follow the account
   * (doctors.accounts.ts).
   */
  subscribe(events: DomainEvents): void {
    subscribeDoctorAccounts(events, { db: this.deps.db, invalidate: (...ids) => this.invalidate(...ids) });
    events.afterCommit('queue.changed', async (change) => {
      // Only a day filling, freeing up or closing moves a doctor's soonest day: not every booking.
      if (change.room || change.type === 'closed') await this.refreshSoonest({ queueIds: [change.queueId] });
      if (change.type !== 'completed' || !change.appointmentId) return;
      const row = await repo.doctorOfAppointment(this.deps.db, change.appointmentId);
      if (row) await this.deps.cache.del(profileKey(row.doctorId));
    });
    events.afterCommit('schedule.changed', async ({ doctorId }) => {
      await this.refreshSoonest({ doctorIds: [doctorId] });
      await this.invalidate(doctorId);
    });
  }

  /**
   * Drops these doctors' cached profiles and every cached search page. Call after any change that shows in a
   * profile or a list (other modules too: a session added, moved or removed changes the cities a doctor shows).
   */
  async invalidate(...doctorIds: string[]): Promise<void> {
    await this.deps.cache.del(...doctorIds.map(profileKey));
    await this.deps.cache.bump(SEARCH_GENERATION);
  }

  /**
   * Recounts the 90-day visits behind sort=popular by the app clock (the periodic job; triggers only add new
   * completions, so visits older than 90 days leave the count here). Popular pages follow within
   * POPULAR_TTL_SECONDS. Returns how many doctors changed.
   */
  refreshPopularity(): Promise<number> {
    return repo.refreshRecentVisits(this.deps.db, this.deps.clock.now());
  }

  /** Recomputes the stored earliest bookable day (sort=soonest) of some doctors, by the app clock. */
  refreshSoonest(scope: soonest.SoonestScope): Promise<void> {
    return soonest.refreshSoonest(this.deps.db, this.deps.clock.now(), scope);
  }

  /** The periodic recompute of every doctor's earliest bookable day; false when another instance is at it. */
  refreshAllSoonest(): Promise<boolean> {
    return soonest.refreshAllSoonest(this.deps.db, this.deps.clock.now());
  }

  // Edits ----------------------------------------------------------------------------------------------------

  async update(viewer: Viewer, id: string, body: Static<typeof DoctorUpdateSchema>) {
    if (!this.canManage(viewer, id)) {
      if (!(await repo.findDoctor(this.deps.db, id))) throw notFound('Doctor');
      throw forbidden('Only this doctor or an admin may edit this profile');
    }
    await this.deps.db.transaction().execute(async (trx) => {
      const doctor = await repo.findDoctor(trx, id);
      if (!doctor) throw notFound('Doctor');
      if (body.licenseNo !== undefined && body.licenseNo !== doctor.licenseNo) {
        const holder = await repo.findDoctorByLicense(trx, body.licenseNo);
        if (holder && holder.id !== id) {
          throw new AppError('CONFLICT', 'This licence number belongs to another doctor', [
            { field: 'body.licenseNo', message: 'is already registered' },
          ]);
        }
      }
      await this.requireIds(trx, 'specializations', 'body.specializationIds', body.specializationIds);
      await this.requireIds(trx, 'services', 'body.serviceIds', body.serviceIds);
      await this.requireIds(
        trx,
        'qualifications',
        'body.qualifications',
        body.qualifications?.map((q) => q.qualificationId),
      );
      const changes = {
        ...(body.name !== undefined ? { name: body.name } : {}),
        ...(body.bio !== undefined ? { bio: body.bio } : {}),
        ...(body.experienceYears !== undefined ? { experienceYears: body.experienceYears } : {}),
        ...(body.licenseNo !== undefined ? { licenseNo: body.licenseNo } : {}),
      };
      await repo.updateDoctor(trx, id, changes);
      if (body.specializationIds) await repo.replaceSpecializations(trx, id, body.specializationIds);
      if (body.serviceIds) await repo.replaceServices(trx, id, body.serviceIds);
      if (body.qualifications) await repo.replaceQualifications(trx, id, body.qualifications);
    });
    await this.invalidate(id);
    return this.profile(id, viewer);
  }

  private async requireIds(
    db: DB | Parameters<typeof repo.findDoctor>[0],
    table: 'specializations' | 'qualifications' | 'services',
    field: string,
    ids: string[] | undefined,
  ) {
    if (!ids?.length) return;
    const found = await repo.existingIds(db, table, ids);
    const missing = ids.findIndex((id) => !found.has(id));
    if (missing >= 0) throw invalidField(`${field}.${missing}`, `names no known ${table.replace(/s$/, '')}`);
  }

  async setVerified(id: string, verified: boolean) {
    const now = this.deps.clock.now();
    const row = await repo.updateDoctor(this.deps.db, id, { verifiedAt: verified ? now : null });
    if (!row) throw notFound('Doctor');
    await this.invalidate(id);
    return this.profile(id, { id: '', role: 'admin', doctorId: null });
  }

  /** Stores an uploaded photo after checking its real type; nothing is stored when it is refused. */
  async setPhoto(viewer: Viewer, id: string, upload: { bytes: Buffer; mimetype: string }) {
    if (!this.canManage(viewer, id)) {
      if (!(await repo.findDoctor(this.deps.db, id))) throw notFound('Doctor');
      throw forbidden('Only this doctor or an admin may change this photo');
    }
    const doctor = await repo.findDoctor(this.deps.db, id);
    if (!doctor) throw notFound('Doctor');
    if (upload.bytes.length > MAX_PHOTO_BYTES) {
      throw new AppError('PAYLOAD_TOO_LARGE', `A photo may be at most ${MAX_PHOTO_BYTES / 1024 / 1024} MB`);
    }
    const type = sniffImageType(upload.bytes);
    if (!type || !(upload.mimetype in PHOTO_TYPES)) {
      throw invalidField('body.photo', 'must be a JPEG, PNG or WebP image');
    }
    const name = await this.deps.photos.put(id, PHOTO_TYPES[type], upload.bytes);
    try {
      await repo.updateDoctor(this.deps.db, id, { photoUrl: photoUrl(name) });
    } catch (err) {
      await this.deps.photos.remove(name);
      throw err;
    }
    const previous = photoNameOf(doctor.photoUrl);
    if (previous) await this.deps.photos.remove(previous);
    await this.invalidate(id);
    return this.profile(id, viewer);
  }
}
