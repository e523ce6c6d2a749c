// Applies migrations/ to the latest version. Kysely's migrator holds a Postgres advisory lock while it runs,
// so several instances starting at once apply each migration exactly once.
import { type Kysely, Migrator } from 'kysely';
import { migrations } from '../../migrations/index.js';

// biome-ignore lint/suspicious/noExplicitAny: the migrator works on any schema
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    // Numbers are handed out to work in progress, so a lower one can land after a higher one has run: it is
    // applied then (each migration stands on its own) instead of the database refusing to start.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
