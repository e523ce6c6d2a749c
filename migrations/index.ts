// Every migration, in order. Append-only once landed: never edit a migration that has shipped.
import type { Migration } from 'kysely';
import * as m0001 from './0001_accounts.js';
import * as m0002 from './0002_directory.js';
import * as m0003 from './0003_scheduling.js';
import * as m0004 from './0004_notifications.js';
import * as m0005 from './0005_directory_search.js';
import * as m0006 from './0006_directory_cards.js';
import * as m0007 from './0007_patient_lookup.js';
import * as m0008 from './0008_doctor_popularity.js';
import * as m0009 from './0009_doctor_soonest.js';
import * as m0010 from './0010_patient_lookup_exact.js';
import * as m0012 from './0012_hospital_scoping.js';
import * as m0013 from './0013_password_reset.js';
import * as m0014 from './0014_one_called.js';
import * as m0015 from './0015_care_records.js';
import * as m0016 from './0016_billing.js';
import * as m0017 from './0017_reports.js';
import * as m0018 from './0018_blobs.js';
import * as m0019 from './0019_book_place.js';

export const migrations: Record<string, Migration> = {
  '0001_accounts': m0001,
  '0002_directory': m0002,
  '0003_scheduling': m0003,
  '0004_notifications': m0004,
  '0005_directory_search': m0005,
  '0006_directory_cards': m0006,
  '0007_patient_lookup': m0007,
  '0008_doctor_popularity': m0008,
  '0009_doctor_soonest': m0009,
  '0010_patient_lookup_exact': m0010,
  '0012_hospital_scoping': m0012,
  '0013_password_reset': m0013,
  '0014_one_called': m0014,
  '0015_care_records': m0015,
  '0016_billing': m0016,
  '0017_reports': m0017,
  '0018_blobs': m0018,
  '0019_book_place': m0019,
};
