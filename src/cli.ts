// Operator commands: migrate, create-admin, seed, rotate-key.
import { parseArgs } from 'node:util';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { seedDemo } from './seed.js';

const USAGE = `usage: npm run cli -- <command>
  migrate                                        apply pending migrations
  create-admin --email E --password P [--name N] create an admin account (no-op if the e-mail exists)
  seed                                           load the demo clinic into an empty database
  rotate-key [--batch N]                         re-encrypt the care records under ENCRYPTION_KEY (the old key
                                                 as ENCRYPTION_KEY_PREVIOUS); restartable, N rows a batch`;

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
  if (command === 'rotate-key') {
    const { values } = parseArgs({ args: rest, options: { batch: { type: 'string' } } });
    const batch = values.batch === undefined ? 200 : Number(values.batch);
    if (!Number.isInteger(batch) || batch < 1) {
      console.error('rotate-key: --batch must be a whole number above 0');
      return 2;
    }
    const app = await buildApp(config, { logger: false });
    try {
      const report = await app.care.rotateKeys(
        (progress) => console.log(`${progress.table}: ${progress.values} re-encrypted so far`),
        batch,
      );
      console.log(`done: ${report.values} values (${report.attachments} attachments) re-encrypted`);
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
