// Operator commands: migrate, create-admin, seed.
import { parseArgs } from 'node:util';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { seedDemo } from './seed.js';

const USAGE = `usage: npm run cli -- <command>
  migrate                                        apply pending migrations
  create-admin --email E --password P [--name N] create an admin account (no-op if the e-mail exists)
  seed                                           load the demo clinic into an empty database`;

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  const config = loadConfig();
  if (command === 'migrate') {
    const { db } = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
    try {
      const applied = await migrateToLatest(db);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } finally {
      await db.destroy();
    }
    return 0;
  }
  if (command === 'create-admin') {
    const { values } = parseArgs({
      args: rest,
      options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } },
    });
    if (!values.email || !values.password || values.password.length < 8) {
      console.error('create-admin needs --email and --password (at least 8 characters)');
      return 2;
    }
    const app = await buildApp(config, { logger: false });
    try {
      const outcome = await app.accounts.admin.ensureAdmin(values.email, values.password, values.name);
      console.log(outcome === 'created' ? `admin ${values.email} created` : `${values.email} already exists`);
    } finally {
      await app.close();
    }
    return 0;
  }
  if (command === 'seed') {
    const app = await buildApp(config, { logger: false });
    try {
      console.log((await seedDemo(app)) ? 'demo data loaded' : 'database is not empty; nothing seeded');
    } finally {
      await app.close();
    }
    return 0;
  }
  console.error(USAGE);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof ConfigError ? `carequeue: invalid configuration: ${err.message}` : err);
    process.exit(1);
  },
);
