// Benchmark: GET /v1/doctors?q=…&city=… over 10,000 doctors and 50 hospitals on real Postgres, against a bare
// Fastify hello route measured in the same run with the same load. Prints the query plans (they must use the
// trigram and city indexes), p50/p99 latency, requests/s and the ratio. Target: p99 under 20 ms.
// Run: npx tsx test/bench/search.ts   (bounded: seed ≈ 10-20 s, then 3 × DURATION seconds of load)
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { CompiledQuery } from 'kysely';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { searchQuery } from '../../src/modules/directory/doctors.repository.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { hasPostgres } from '../helpers/services.js';
import { seedSearchData } from './search-seed.js';

const DOCTORS = 10_000;
const HOSPITALS = 50;
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 10;
const TARGET_P99_MS = 20;

interface Measured {
  label: string;
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

async function load(label: string, url: string): Promise<Measured> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION });
  return {
    label,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: result.requests.average,
    errors: result.errors + result.non2xx,
  };
}

if (!(await hasPostgres())) {
  console.error('search bench needs Postgres at 127.0.0.1:5432');
  process.exit(2);
}

const database = await createPostgresDatabase();
const config = loadConfig({
  DATABASE_URL: database.url,
  JWT_SECRET: TEST_JWT_SECRET,
  ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
  LOG_LEVEL: 'silent',
  SEED_DEMO: 'false',
});
const app = await buildApp(config, { logger: false });
const hello = Fastify({ logger: false });
hello.get('/hello', async () => ({ hello: 'world' }));

try {
  const started = Date.now();
  await seedSearchData(app.db, DOCTORS, HOSPITALS);
  console.log(
    `seeded ${DOCTORS} doctors, ${HOSPITALS} hospitals in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );

  const now = new Date();
  const queries = [
    { title: 'q=Rahmn&city=Dhaka (typo, relevance)', q: 'Rahmn', city: 'Dhaka', sort: 'relevance' as const },
    { title: 'q=BMDC-B-004242 (licence)', q: 'BMDC-B-004242', sort: 'relevance' as const },
    { title: 'city=Sylhet (by name)', city: 'Sylhet', sort: 'name' as const },
  ];
  for (const query of queries) {
    const compiled = searchQuery({
      ...query,
      now,
      today: now.toISOString().slice(0, 10),
      after: null,
      limit: 20,
      onlyVerified: true,
    }).compile(app.db);
    const plan = await app.db.executeQuery<Record<string, string>>(
      CompiledQuery.raw(`explain (analyze, buffers, costs off) ${compiled.sql}`, [...compiled.parameters]),
    );
    const text = plan.rows.map((r) => Object.values(r)[0]).join('\n');
    console.log(`\nEXPLAIN ${query.title}\n${text}`);
  }

  await app.listen({ port: 0, host: '127.0.0.1' });
  await hello.listen({ port: 0, host: '127.0.0.1' });
  const appUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const helloUrl = `http://127.0.0.1:${(hello.server.address() as { port: number }).port}/hello`;
  const sample = await (await fetch(`${appUrl}/v1/doctors?q=Rahmn&city=Dhaka`)).json();
  console.log(
    `\nGET /v1/doctors?q=Rahmn&city=Dhaka → ${sample.items.length} items, first: ${sample.items[0]?.name}`,
  );

  // Warm both servers, then measure each with the same load.
  await autocannon({ url: helloUrl, connections: CONNECTIONS, duration: 1 });
  await autocannon({ url: `${appUrl}/v1/doctors?q=Rahmn&city=Dhaka`, connections: CONNECTIONS, duration: 1 });
  const results = [
    await load('bare Fastify /hello', helloUrl),
    await load('GET /v1/doctors?q=Rahmn&city=Dhaka', `${appUrl}/v1/doctors?q=Rahmn&city=Dhaka`),
    await load(
      'GET /v1/doctors?q=Chowdhury&city=Chattogram',
      `${appUrl}/v1/doctors?q=Chowdhury&city=Chattogram`,
    ),
  ];
  console.log(`\n${CONNECTIONS} connections, ${DURATION} s each`);
  console.log(
    'route'.padEnd(46),
    'p50 ms'.padStart(8),
    'p99 ms'.padStart(8),
    'req/s'.padStart(10),
    'errors'.padStart(7),
  );
  for (const r of results) {
    console.log(
      r.label.padEnd(46),
      String(r.p50).padStart(8),
      String(r.p99).padStart(8),
      r.rps.toFixed(0).padStart(10),
      String(r.errors).padStart(7),
    );
  }
  const [base, ...search] = results;
  for (const r of search) {
    console.log(
      `${r.label}: ${((r.rps / base.rps) * 100).toFixed(1)}% of bare Fastify req/s; p99 ${r.p99} ms ` +
        `(target < ${TARGET_P99_MS} ms: ${r.p99 < TARGET_P99_MS ? 'met' : 'NOT met'})`,
    );
  }
} finally {
  await hello.close();
  await app.close();
  await database.drop();
}
