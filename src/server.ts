// Process entry: load config, build the app, listen, close with grace.
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { isConnectionError } from './plugins/errors.js';
import { DEMO_PASSWORD, seedDemo, workingDemoLogins } from './seed.js';

/** One line on stderr and a non-zero exit: what an operator reading a container log needs. */
function fail(message: string): never {
  console.error(`carequeue: ${message}`);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(`invalid configuration: ${err.message}`);
  throw err;
}

const app = await buildApp(config).catch((err: unknown) => {
  if (isConnectionError(err)) fail(`cannot reach the database (DATABASE_URL): ${(err as Error).message}`);
  throw err;
});
const seeded = config.SEED_DEMO ? await seedDemo(app) : false;
const demoLogins = config.SEED_DEMO ? await workingDemoLogins(app) : [];

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error');
  else app.log.info({ signal }, 'shutting down');
  await app.close();
});

try {
  await app.listen({ port: config.PORT, host: config.HOST });
} catch (err) {
  await app.close();
  fail(`cannot listen on ${config.HOST}:${config.PORT} (PORT, HOST): ${(err as Error).message}`);
}
const base = `http://localhost:${(app.server.address() as { port: number }).port}`;
const lines = [
  '',
  `CareQueue is running at ${base}  (${config.EMBEDDED ? `embedded: data in ${config.DATA_DIR}` : 'Postgres'}${config.REDIS_URL ? ' + Redis' : ''})`,
  `  booking       ${base}/`,
  `  lobby screen  ${base}/screen   ·  doctor ${base}/doctor  ·  front desk ${base}/desk  ·  admin ${base}/admin`,
  `  API docs      ${base}/docs`,
  `  health        ${base}/health`,
];
// Only logins that work now: a database that held data before is not seeded, and its accounts are its own.
if (demoLogins.length > 0) {
  lines.push(`  demo logins   (password "${DEMO_PASSWORD}")${seeded ? '' : ' — seeded earlier'}`);
  for (const login of demoLogins) lines.push(`    ${login.role.padEnd(8)} ${login.email}`);
} else if (config.SEED_DEMO) {
  lines.push('  demo data     not loaded: the database already holds other data');
}
console.log(lines.join('\n'));
