// The directory: hospitals, catalogs and favorites here; doctors and reviews in their own services, reached
// through `directory.doctors` and `directory.reviews`.
import type { Static } from '@sinclair/typebox';
import type { CountryCode } from 'libphonenumber-js';
import { DateTime, IANAZone } from 'luxon';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError, invalidField, notFound } from '../../errors.js';
import { toE164 } from '../../lib/phone.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import type { Cache } from '../../plugins/cache.js';
import * as repo from './directory.repository.js';
import type {
  HospitalBodySchema,
  HospitalQuerySchema,
  HospitalUpdateSchema,
  ServiceBodySchema,
  ServiceUpdateSchema,
} from './directory.schema.js';
import { doctorCards } from './doctors.repository.js';
import { DoctorsService, toCardView, type Viewer } from './doctors.service.js';
import type { PhotoStorage } from './photo.storage.js';
import { ReviewsService } from './reviews.service.js';

export interface DirectoryDeps {
  db: DB;
  clock: Clock;
  cache: Cache;
  photos: PhotoStorage;
  phoneRegion: string;
}

export const CATALOG_TTL_SECONDS = 3600;

const badCursor = () => invalidField('querystring.cursor', 'is not a cursor of this list');

/** 'HH:MM:SS' from the database → 'HH:MM'. */
const clockTime = (t: string) => t.slice(0, 5);

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));

type HospitalRow = NonNullable<Awaited<ReturnType<typeof repo.findHospital>>>;

export function toHospitalView(h: HospitalRow) {
  return {
    id: h.id,
    name: h.name,
    city: h.city,
    address: h.address,
    phone: h.phone,
    timezone: h.timezone,
    quietStart: clockTime(h.quietStart),
    quietEnd: clockTime(h.quietEnd),
    currency: h.currency,
    code: h.code,
  };
}

type Catalog = repo.CatalogName;

export class DirectoryService {
  readonly doctors: DoctorsService;
  readonly reviews: ReviewsService;
  readonly photos: PhotoStorage;

  constructor(private readonly deps: DirectoryDeps) {
    this.photos = deps.photos;
    this.doctors = new DoctorsService(deps);
    this.reviews = new ReviewsService({ db: deps.db, clock: deps.clock, doctors: this.doctors });
  }

  // Hospitals ------------------------------------------------------------------------------------------------

  async listHospitals(query: Static<typeof HospitalQuerySchema>) {
    const limit = query.limit ?? 20;
    const after = decodeCursor<[string, string]>(query.cursor, 2);
    if (query.cursor && !after) throw badCursor();
    const rows = await repo.listHospitals(this.deps.db, {
      city: query.city?.trim() || undefined,
      q: query.q?.trim() || undefined,
      after,
      limit,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toHospitalView),
      nextCursor: rows.length > limit && last ? encodeCursor([last.name, last.id]) : null,
    };
  }

  async hospital(id: string) {
    const hospital = await repo.findHospital(this.deps.db, id);
    if (!hospital) throw notFound('Hospital');
    const doctors = await repo.hospitalDoctors(this.deps.db, id);
    return { ...toHospitalView(hospital), doctors };
  }

  private hospitalValues(body: Static<typeof HospitalUpdateSchema>) {
    if (body.timezone !== undefined && !IANAZone.isValidZone(body.timezone)) {
      throw invalidField('body.timezone', 'is not an IANA time zone (e.g. Asia/Dhaka)');
    }
    if (body.currency !== undefined && !CURRENCIES.has(body.currency))
      throw invalidField('body.currency', 'is not an ISO 4217 currency code (e.g. BDT)');
    const { phone, ...rest } = body;
    return {
      ...rest,
      ...(phone !== undefined
        ? { phone: phone === null ? null : toE164(phone, this.deps.phoneRegion as CountryCode, 'body.phone') }
        : {}),
    };
  }

  async createHospital(body: Static<typeof HospitalBodySchema>) {
    const values = this.hospitalValues(body);
    const row = await repo.insertHospital(this.deps.db, {
      ...values,
      name: body.name,
      city: body.city,
      timezone: body.timezone,
    });
    return toHospitalView(row);
  }

  async updateHospital(id: string, body: Static<typeof HospitalUpdateSchema>) {
    const row = await repo.updateHospital(this.deps.db, id, this.hospitalValues(body));
    if (!row) throw notFound('Hospital');
    await this.invalidateHospitalDoctors(id);
    return toHospitalView(row);
  }

  /** Soft delete, refused while the hospital has appointments to come or sessions still running. */
  async deleteHospital(id: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      const hospital = await repo.lockHospital(trx, id);
      if (!hospital) throw notFound('Hospital');
      const today =
        DateTime.fromJSDate(now).setZone(hospital.timezone).toISODate() ?? now.toISOString().slice(0, 10);
      const { appointments, sessions } = await repo.hospitalCommitments(trx, id, today);
      if (appointments > 0 || sessions > 0) {
        const parts = [
          appointments > 0 ? `${appointments} upcoming appointment${appointments === 1 ? '' : 's'}` : '',
          sessions > 0 ? `${sessions} active session${sessions === 1 ? '' : 's'}` : '',
        ].filter(Boolean);
        throw new AppError(
          'CONFLICT',
          `This hospital still has ${parts.join(' and ')}; cancel or move them before removing it`,
          { upcomingAppointments: appointments, activeSessions: sessions },
        );
      }
      await repo.softDeleteHospital(trx, id, now);
    });
    await this.invalidateHospitalDoctors(id);
  }

  private async invalidateHospitalDoctors(hospitalId: string) {
    const rows = await this.deps.db
      .selectFrom('sessions')
      .select('doctorId')
      .distinct()
      .where('hospitalId', '=', hospitalId)
      .execute();
    await this.doctors.invalidate(...rows.map((r) => r.doctorId));
  }

  // Catalogs -------------------------------------------------------------------------------------------------

  async listCatalog(table: Catalog, query: { limit?: number; cursor?: string }) {
    const all = await this.deps.cache.wrap(`catalog:${table}`, CATALOG_TTL_SECONDS, async () =>
      table === 'services'
        ? (await repo.listServices(this.deps.db)).map((s) => ({ ...s, fee: Number(s.fee) }))
        : repo.listCatalog(this.deps.db, table),
    );
    const limit = query.limit ?? 100;
    const after = decodeCursor<[string, string]>(query.cursor, 2);
    if (query.cursor && !after) throw badCursor();
    // The cached list is in the database's (name, id) order: a page starts after the cursor's entry, or, if
    // that entry was removed meanwhile, at the first name after it.
    const at = after ? all.findIndex((item) => item.id === after[1]) : -1;
    const start = !after
      ? 0
      : at >= 0
        ? at + 1
        : all.findIndex((item) => item.name.toLowerCase().localeCompare(after[0].toLowerCase()) > 0);
    const rest = start < 0 ? [] : all.slice(start);
    const page = rest.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page,
      nextCursor: rest.length > limit && last ? encodeCursor([last.name, last.id]) : null,
    };
  }

  private async ensureNameFree(table: Catalog, name: string, exceptId?: string) {
    if (await repo.catalogNameTaken(this.deps.db, table, name, exceptId)) {
      throw new AppError('CONFLICT', `"${name}" already exists`, [
        { field: 'body.name', message: 'already exists' },
      ]);
    }
  }

  private async catalogChanged(table: Catalog, id: string | null) {
    await this.deps.cache.del(`catalog:${table}`);
    const doctorIds = id ? await repo.doctorsUsing(this.deps.db, table, id) : [];
    await this.doctors.invalidate(...doctorIds);
  }

  async createCatalogItem(table: 'specializations' | 'qualifications', name: string) {
    await this.ensureNameFree(table, name);
    const row = await repo.insertCatalogItem(this.deps.db, table, name);
    await this.catalogChanged(table, null);
    return row;
  }

  async updateCatalogItem(table: 'specializations' | 'qualifications', id: string, name: string) {
    await this.ensureNameFree(table, name, id);
    const row = await repo.updateCatalogItem(this.deps.db, table, id, name);
    if (!row) throw notFound('Catalog entry');
    await this.catalogChanged(table, id);
    return row;
  }

  async createService(body: Static<typeof ServiceBodySchema>) {
    await this.ensureNameFree('services', body.name);
    const row = await repo.insertService(this.deps.db, body);
    await this.catalogChanged('services', null);
    return { ...row, fee: Number(row.fee) };
  }

  async updateService(id: string, body: Static<typeof ServiceUpdateSchema>) {
    if (body.name) await this.ensureNameFree('services', body.name, id);
    const row = await repo.updateService(this.deps.db, id, body);
    if (!row) throw notFound('Service');
    await this.catalogChanged('services', id);
    return { ...row, fee: Number(row.fee) };
  }

  async deleteCatalogItem(table: Catalog, id: string): Promise<void> {
    if (table === 'services' && (await repo.serviceInUse(this.deps.db, id))) {
      throw new AppError('CONFLICT', 'Appointments refer to this service; it cannot be removed');
    }
    const doctorIds = await repo.doctorsUsing(this.deps.db, table, id);
    const result = await repo.deleteCatalogItem(this.deps.db, table, id);
    if (Number(result.numDeletedRows) === 0) throw notFound('Catalog entry');
    await this.deps.cache.del(`catalog:${table}`);
    await this.doctors.invalidate(...doctorIds);
  }

  // Favorites ------------------------------------------------------------------------------------------------

  async addFavorite(viewer: Viewer, doctorId: string): Promise<void> {
    await this.doctors.profile(doctorId, null);
    await repo.addFavorite(this.deps.db, viewer.id, doctorId, this.deps.clock.now());
  }

  async removeFavorite(viewer: Viewer, doctorId: string): Promise<void> {
    await repo.removeFavorite(this.deps.db, viewer.id, doctorId);
  }

  async listFavorites(viewer: Viewer, query: { limit?: number; cursor?: string }) {
    const limit = query.limit ?? 20;
    const after = decodeCursor<[string, string]>(query.cursor, 2);
    if (query.cursor && !after) throw badCursor();
    const rows = await repo.listFavorites(this.deps.db, viewer.id, after, limit);
    const page = rows.slice(0, limit);
    const cards = await doctorCards(
      this.deps.db,
      page.map((r) => r.doctorId),
    );
    const last = page.at(-1);
    return {
      items: page.flatMap((r) => {
        const card = cards.get(r.doctorId);
        return card ? [{ ...toCardView(card), favoritedAt: new Date(r.createdAt).toISOString() }] : [];
      }),
      nextCursor:
        rows.length > limit && last
          ? encodeCursor([new Date(last.createdAt).toISOString(), last.doctorId])
          : null,
    };
  }
}
