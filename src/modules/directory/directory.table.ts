import type { ColumnType, Generated, Selectable } from 'kysely';
import type { CreatedAt, Timestamp, UpdatedAt } from '../accounts/accounts.table.js';

/** numeric columns come back as strings from both drivers; convert at the edge. */
export type Numeric = ColumnType<string, string | number, string | number>;

export interface HospitalsTable {
  id: Generated<string>;
  name: string;
  city: string;
  address: Generated<string>;
  phone: string | null;
  timezone: string;
  quietStart: Generated<string>;
  quietEnd: Generated<string>;
  /** ISO 4217 code of the currency the hospital bills in (migration 0016). */
  currency: Generated<string>;
  /** Short code that prefixes its invoice numbers; derived from the name when not given (migration 0016). */
  code: Generated<string>;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
  deletedAt: Timestamp | null;
}

export interface CatalogTable {
  id: Generated<string>;
  name: string;
  createdAt: CreatedAt;
}

export const SERVICE_KINDS = ['consultation', 'check_up', 'lab_test', 'procedure', 'other'] as const;

export interface ServicesTable extends CatalogTable {
  kind: Generated<(typeof SERVICE_KINDS)[number]>;
  durationMinutes: Generated<number>;
  /** numeric with a default: a string when read, a string or number (or nothing) when written. */
  fee: ColumnType<string, string | number | undefined, string | number>;
}

export interface DoctorsTable {
  id: Generated<string>;
  userId: string;
  name: string;
  licenseNo: string | null;
  bio: Generated<string>;
  experienceYears: number | null;
  photoUrl: string | null;
  verifiedAt: Timestamp | null;
  ratingSum: Generated<number>;
  ratingCount: Generated<number>;
  visitCount: Generated<number>;
  /** Completed visits in the last 90 days: moved by triggers, recounted by a periodic job (migration 0008). */
  recentVisits: Generated<number>;
  /** Kept by triggers (migration 0006) for list cards: specialization names, sorted. */
  specializationNames: Generated<string[]>;
  /** Kept by triggers (migration 0006): the cities of the doctor's live sessions, sorted. */
  cityNames: Generated<string[]>;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
}

/** The earliest bookable day of each doctor, kept by the app (soonest.repository.ts, migration 0009). */
export interface DoctorSoonestTable {
  doctorId: string;
  day: string | null;
}

export interface DoctorSpecializationsTable {
  doctorId: string;
  specializationId: string;
}

export interface DoctorQualificationsTable {
  id: Generated<string>;
  doctorId: string;
  qualificationId: string;
  institute: Generated<string>;
  year: number | null;
}

export interface DoctorServicesTable {
  doctorId: string;
  serviceId: string;
}

export interface FavoritesTable {
  userId: string;
  doctorId: string;
  createdAt: CreatedAt;
}

export interface ReviewsTable {
  id: Generated<string>;
  appointmentId: string;
  doctorId: string;
  authorId: string;
  rating: number;
  comment: Generated<string>;
  hiddenAt: Timestamp | null;
  createdAt: CreatedAt;
}

/** Search vocabulary, kept by a trigger on doctors.name (see migration 0002). */
export interface SearchWordsTable {
  word: string;
}

export interface DoctorNameWordsTable {
  word: string;
  doctorId: string;
}

/** Cities (lower-cased) where a doctor holds a live session, kept by triggers (see migration 0005). */
export interface DoctorCitiesTable {
  city: string;
  doctorId: string;
}

export interface DirectoryTables {
  hospitals: HospitalsTable;
  specializations: CatalogTable;
  qualifications: CatalogTable;
  services: ServicesTable;
  doctors: DoctorsTable;
  doctorSpecializations: DoctorSpecializationsTable;
  doctorSoonest: DoctorSoonestTable;
  doctorQualifications: DoctorQualificationsTable;
  doctorServices: DoctorServicesTable;
  favorites: FavoritesTable;
  reviews: ReviewsTable;
  searchWords: SearchWordsTable;
  doctorNameWords: DoctorNameWordsTable;
  doctorCities: DoctorCitiesTable;
}

export type Hospital = Selectable<HospitalsTable>;
export type Doctor = Selectable<DoctorsTable>;
