// Process entry: load config, build the app, listen, close with grace.
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { DEMO_LOGINS, DEMO_PASSWORD, seedDemo } from './seed.js';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`carequeue: invalid configuration: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

const app = await buildApp(config);
const seeded = config.SEED_DEMO ? await seedDemo(app) : false;

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error');
  else app.log.info({ signal }, 'shutting down');
  await app.close();
});

await app.listen({ port: config.PORT, host: config.HOST });
const base = `http://localhost:${(app.server.address() as { port: number }).port}`;
const lines = [
  '',
  `CareQueue is running at ${base}  (${config.EMBEDDED ? `embedded: data in ${config.DATA_DIR}` : 'Postgres'}${config.REDIS_URL ? ' + Redis' : ''})`,
  `  API docs      ${base}/docs`,
  `  health        ${base}/health`,
];
if (config.SEED_DEMO) {
  lines.push(`  demo logins   (password "${DEMO_PASSWORD}")${seeded ? '' : ' — seeded earlier'}`);
  for (const login of DEMO_LOGINS) lines.push(`    ${login.role.padEnd(8)} ${login.email}`);
}
console.log(lines.join('\n'));
