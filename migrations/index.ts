// Every migration, in order. Append-only once landed: never edit a migration that has shipped.
import type { Migration } from 'kysely';
import * as m0001 from './0001_accounts.js';
import * as m0002 from './0002_directory.js';
import * as m0003 from './0003_scheduling.js';
import * as m0004 from './0004_notifications.js';
import * as m0005 from './0005_directory_search.js';

export const migrations: Record<string, Migration> = {
  '0001_accounts': m0001,
  '0002_directory': m0002,
  '0003_scheduling': m0003,
  '0004_notifications': m0004,
  '0005_directory_search': m0005,
};
