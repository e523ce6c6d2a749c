// The process as an operator runs it: child processes of the real entry points.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { migrations } from '../../migrations/index.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createEmptyPostgresDatabase } from '../helpers/database.js';
import { skipWithout } from '../helpers/services.js';

const ROOT = join(import.meta.dirname, '../..');
/** Upper bound for a start on a busy CI machine; exceeding it fails the test rather than hanging it. */
const START_LIMIT_MS = 90_000;

interface Server {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  exit: Promise<number | null>;
}

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Starts src/server.ts and resolves once it prints its URL. */
function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in time\nstdout: ${out}\nstderr: ${err}`));
    }, START_LIMIT_MS);
    child.stderr?.on('data', (chunk) => {
      err += chunk;
    });
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const match = /CareQueue is running at (http:\/\/localhost:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        // Listen on 127.0.0.1 (HOST) and reach it the same way.
        resolve({ child, url: match[1].replace('localhost', '127.0.0.1'), stdout: () => out, exit });
      }
    });
    exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

/** SIGTERM, then the exit code; SIGKILL (and a failure) if it does not stop within the grace period. */
async function stop(server: Server): Promise<number | null> {
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 15_000);
  const code = await server.exit;
  clearTimeout(timer);
  return code;
}

function npm(args: string[], env: Record<string, string>) {
  return spawnSync('npm', args, { cwd: ROOT, env: baseEnv(env), encoding: 'utf8', timeout: START_LIMIT_MS });
}

describe('embedded start', () => {
  test('npm start equivalent: answers /health, prints docs URL and demo logins, exits 0 on SIGTERM', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cq-start-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const server = await startServer({ DATA_DIR: dataDir });
    let stopped = false;
    t.after(() => {
      if (!stopped) server.child.kill('SIGKILL');
    });
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 200);
    const out = server.stdout();
    assert.match(out, /embedded: data in /);
    assert.match(out, /API docs\s+http:\/\/localhost:\d+\/docs/);
    assert.match(out, /demo logins\s+\(password "carequeue-demo"\)/);
    assert.match(out, /admin\s+admin@demo\.carequeue\.local/);
    assert.match(out, /patient\s+patient@demo\.carequeue\.local/);
    const login = await fetch(`${server.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'desk@demo.carequeue.local', password: 'carequeue-demo' }),
    });
    assert.equal(login.status, 200, 'the printed demo login works');
    assert.equal(((await login.json()) as { user: { role: string } }).user.role, 'staff');
    const code = await stop(server);
    stopped = true;
    assert.equal(code, 0, 'graceful shutdown exits 0');
  });

  test('with ADMIN_EMAIL set, SEED_DEMO=1 still seeds an empty database and prints only logins that work', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cq-start-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    // The operator's admin takes the demo admin's e-mail with a password of its own: created first, at start.
    const server = await startServer({
      DATA_DIR: dataDir,
      SEED_DEMO: '1',
      ADMIN_EMAIL: 'admin@demo.carequeue.local',
      ADMIN_PASSWORD: 'operator chosen secret',
    });
    t.after(() => {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    });
    const signIn = (email: string, password: string) =>
      fetch(`${server.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
    const out = server.stdout();
    assert.match(out, /demo logins\s+\(password "carequeue-demo"\)/, 'the demo clinic was seeded');
    for (const [role, email] of [
      ['staff', 'desk@demo.carequeue.local'],
      ['doctor', 'dr.rahman@demo.carequeue.local'],
      ['patient', 'patient@demo.carequeue.local'],
    ]) {
      assert.match(out, new RegExp(`${role}\\s+${email.replaceAll('.', '\\.')}`));
      assert.equal((await signIn(email, 'carequeue-demo')).status, 200, `${email} signs in as printed`);
    }
    assert.doesNotMatch(
      out,
      /admin\s+admin@demo\.carequeue\.local/,
      'its demo password does not work: not printed',
    );
    assert.equal((await signIn('admin@demo.carequeue.local', 'operator chosen secret')).status, 200);
    assert.equal(await stop(server), 0);
  });
});

describe('Postgres start', { skip: await skipWithout('postgres') }, () => {
  test('two instances starting at once on an empty database both come up; migrations run once', async (t) => {
    const database = await createEmptyPostgresDatabase();
    t.after(() => database.drop());
    const env = {
      DATABASE_URL: database.url,
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      ADMIN_EMAIL: 'root@example.test',
      ADMIN_PASSWORD: 'root password 1',
      DATA_DIR: '/nonexistent-data-dir',
    };
    const started = await Promise.allSettled([startServer(env), startServer(env)]);
    const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    t.after(() => {
      for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    });
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    for (const server of servers) {
      assert.equal((await fetch(`${server.url}/ready`)).status, 200);
      assert.doesNotMatch(server.stdout(), /demo logins/, 'no demo seeding on Postgres by default');
    }
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string; n: number }>(
        'select name, count(*)::int as n from kysely_migration group by name order by name',
      );
      assert.deepEqual(
        rows,
        Object.keys(migrations).map((name) => ({ name, n: 1 })),
        'each migration applied exactly once',
      );
      const admins = await client.query("select role from users where email = 'root@example.test'");
      assert.deepEqual(admins.rows, [{ role: 'admin' }], 'ADMIN_EMAIL created once');
    } finally {
      await client.end();
    }
    const codes = await Promise.all(servers.map(stop));
    assert.deepEqual(codes, [0, 0]);
  });

  test('npm run migrate and npm run cli -- create-admin work and are idempotent', async (t) => {
    const database = await createEmptyPostgresDatabase();
    t.after(() => database.drop());
    const env = {
      DATABASE_URL: database.url,
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    };
    const first = npm(['run', '--silent', 'migrate'], env);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`applied: ${Object.keys(migrations).join(', ')}`));
    const again = npm(['run', '--silent', 'migrate'], env);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /database is up to date/);

    const create = ['run', '--silent', 'cli', '--', 'create-admin', '--email', 'ops@example.test'];
    const created = npm([...create, '--password', 'ops password 1', '--name', 'Ops'], env);
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /admin ops@example\.test created/);
    const exists = npm([...create, '--password', 'another password'], env);
    assert.equal(exists.status, 0, exists.stderr);
    assert.match(exists.stdout, /already exists/);
    const missing = npm(['run', '--silent', 'cli', '--', 'create-admin', '--email', 'x@example.test'], env);
    assert.equal(missing.status, 2);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query("select name, role from users where email = 'ops@example.test'");
      assert.deepEqual(rows, [{ name: 'Ops', role: 'admin' }], 'created once, not overwritten');
    } finally {
      await client.end();
    }
  });
});
