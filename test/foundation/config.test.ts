import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const ROOT = join(import.meta.dirname, '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'cq-config-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

const SERVER = {
  DATABASE_URL: 'postgres://app@db.internal:5432/carequeue',
  JWT_SECRET: 's'.repeat(40),
  ENCRYPTION_KEY: 'ab'.repeat(32),
};

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ DATA_DIR: dataDir, ...env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  test('REDIS_CLUSTER_NODES is parsed into host and port, and is not combined with REDIS_URL', () => {
    const config = loadConfig({ ...SERVER, REDIS_CLUSTER_NODES: 'redis-a:7000, 10.0.0.2:7001' });
    assert.deepEqual(config.REDIS_CLUSTER_NODES, [
      { host: 'redis-a', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    assert.match(refusal({ ...SERVER, REDIS_CLUSTER_NODES: 'redis-a' }).message, /^REDIS_CLUSTER_NODES:/);
    assert.match(refusal({ ...SERVER, REDIS_CLUSTER_NODES: 'redis-a:0' }).message, /no valid port/);
    assert.match(
      refusal({ ...SERVER, REDIS_URL: 'redis://r:6379', REDIS_CLUSTER_NODES: 'redis-a:7000' }).message,
      /either REDIS_URL .* or REDIS_CLUSTER_NODES/,
    );
  });

  test('defaults: embedded mode on port 3000 with generated, kept secrets', () => {
    const config = loadConfig({ DATA_DIR: dataDir });
    assert.equal(config.PORT, 3000);
    assert.equal(config.HOST, '0.0.0.0');
    assert.equal(config.EMBEDDED, true);
    assert.equal(config.SEED_DEMO, true);
    assert.equal(config.NOTIFY_SMS, 'log');
    assert.equal(config.PUBLIC_URL, 'http://localhost:3000');
    assert.equal(config.ENCRYPTION_KEY.length, 32);
    assert.ok(config.JWT_SECRET.length >= 32);
    assert.equal(statSync(join(dataDir, 'jwt-secret')).mode & 0o777, 0o600, 'kept private to the user');
    const again = loadConfig({ DATA_DIR: dataDir });
    assert.equal(again.JWT_SECRET, config.JWT_SECRET, 'the embedded secret survives a restart');
    assert.deepEqual(again.ENCRYPTION_KEY, config.ENCRYPTION_KEY);
    assert.ok(Object.isFrozen(config));
  });

  test('server mode with Postgres: no demo seeding unless asked, values converted', () => {
    const config = loadConfig({ ...SERVER, PORT: '8080', SEED_DEMO: 'true', TRUST_PROXY: '1' });
    assert.equal(config.EMBEDDED, false);
    assert.equal(config.PORT, 8080);
    assert.equal(config.SEED_DEMO, true);
    assert.equal(config.TRUST_PROXY, true);
    assert.equal(loadConfig(SERVER).SEED_DEMO, false);
    assert.equal(config.JWT_SECRET, SERVER.JWT_SECRET);
    assert.deepEqual(config.ENCRYPTION_KEY, Buffer.from(SERVER.ENCRYPTION_KEY, 'hex'));
  });

  test('a bad PORT is refused naming PORT', () => {
    for (const PORT of ['abc', '70000', '-1', '3.5']) assert.match(refusal({ PORT }).message, /^PORT: /);
  });

  test('a bad DATABASE_URL or REDIS_URL is refused naming it, without echoing the value', () => {
    const error = refusal({ ...SERVER, DATABASE_URL: 'mysql://root:hunter2@db/app' });
    assert.match(error.message, /^DATABASE_URL: /);
    assert.doesNotMatch(error.message, /hunter2/);
    assert.match(refusal({ REDIS_URL: 'http://cache:6379' }).message, /^REDIS_URL: /);
  });

  test('JWT_SECRET and ENCRYPTION_KEY are required with DATABASE_URL', () => {
    const { JWT_SECRET: _j, ...noJwt } = SERVER;
    assert.match(refusal(noJwt).message, /^JWT_SECRET: required when DATABASE_URL is set/);
    const { ENCRYPTION_KEY: _e, ...noKey } = SERVER;
    assert.match(refusal(noKey).message, /^ENCRYPTION_KEY: required when DATABASE_URL is set/);
  });

  test('a short JWT_SECRET is refused without printing it', () => {
    const error = refusal({ ...SERVER, JWT_SECRET: 'tooshort-secret' });
    assert.match(error.message, /^JWT_SECRET: /);
    assert.doesNotMatch(error.message, /tooshort-secret/);
  });

  test('ENCRYPTION_KEY takes 64 hex characters or base64 of 32 bytes, nothing else', () => {
    const base64 = Buffer.alloc(32, 7).toString('base64');
    assert.deepEqual(loadConfig({ ...SERVER, ENCRYPTION_KEY: base64 }).ENCRYPTION_KEY, Buffer.alloc(32, 7));
    assert.deepEqual(
      loadConfig({ ...SERVER, ENCRYPTION_KEY: 'AB'.repeat(32) }).ENCRYPTION_KEY,
      Buffer.alloc(32, 0xab),
    );
    for (const ENCRYPTION_KEY of [
      'ab'.repeat(31),
      'zz'.repeat(32),
      Buffer.alloc(16).toString('base64'),
      'short',
    ]) {
      const error = refusal({ ...SERVER, ENCRYPTION_KEY });
      assert.match(error.message, /^ENCRYPTION_KEY: /);
      assert.ok(!error.message.includes(ENCRYPTION_KEY), 'the key is not echoed');
    }
  });

  test('NOTIFY_SMS=twilio needs the Twilio credentials, each named', () => {
    assert.match(refusal({ NOTIFY_SMS: 'twilio' }).message, /^TWILIO_ACCOUNT_SID: required/);
    const sid = `AC${'0'.repeat(32)}`;
    assert.match(refusal({ NOTIFY_SMS: 'twilio', TWILIO_ACCOUNT_SID: sid }).message, /^TWILIO_AUTH_TOKEN: /);
    assert.match(
      refusal({ NOTIFY_SMS: 'twilio', TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: 'token-1234' }).message,
      /^TWILIO_FROM: /,
    );
    const ok = loadConfig({
      DATA_DIR: dataDir,
      NOTIFY_SMS: 'twilio',
      TWILIO_ACCOUNT_SID: sid,
      TWILIO_AUTH_TOKEN: 'token-1234',
      TWILIO_FROM: '+15005550006',
    });
    assert.equal(ok.NOTIFY_SMS, 'twilio');
    assert.match(refusal({ NOTIFY_SMS: 'pigeon' }).message, /^NOTIFY_SMS: /);
    assert.match(refusal({ NOTIFY_EMAIL: 'smtp' }).message, /^SMTP_URL: /);
  });

  test('ADMIN_EMAIL and ADMIN_PASSWORD go together and are checked', () => {
    assert.match(refusal({ ADMIN_EMAIL: 'root@example.test' }).message, /^ADMIN_PASSWORD: /);
    assert.match(refusal({ ADMIN_PASSWORD: 'long enough pw' }).message, /^ADMIN_EMAIL: /);
    assert.match(
      refusal({ ADMIN_EMAIL: 'not-an-email', ADMIN_PASSWORD: 'long enough pw' }).message,
      /^ADMIN_EMAIL: /,
    );
    const short = refusal({ ADMIN_EMAIL: 'root@example.test', ADMIN_PASSWORD: 'short' });
    assert.match(short.message, /^ADMIN_PASSWORD: /);
    assert.doesNotMatch(short.message, /short"/);
  });

  test('other enumerations and numbers are checked', () => {
    assert.match(refusal({ LOG_LEVEL: 'loud' }).message, /^LOG_LEVEL: /);
    assert.match(refusal({ RATE_LIMIT_AUTH: '0' }).message, /^RATE_LIMIT_AUTH: /);
    assert.match(refusal({ SEED_DEMO: 'yes' }).message, /^SEED_DEMO: /);
    assert.match(refusal({ PUBLIC_URL: 'ftp://x' }).message, /^PUBLIC_URL: /);
    assert.match(refusal({ OUTBOX_DRAIN_CRON: 'every minute' }).message, /^OUTBOX_DRAIN_CRON: /);
    assert.match(refusal({ REMINDER_SCAN_CRON: '99 * * * *' }).message, /^REMINDER_SCAN_CRON: /);
  });
});

describe('start-up with a bad variable', () => {
  test('the server exits non-zero printing one line that names the variable', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: 'not-a-port' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 1);
    const lines = child.stderr.trim().split('\n');
    assert.equal(lines.length, 1, child.stderr);
    assert.match(lines[0], /^carequeue: invalid configuration: PORT: /);
    assert.equal(child.stdout, '');
  });

  test('a missing JWT_SECRET with DATABASE_URL stops the CLI too, naming it', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'migrate'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATABASE_URL: 'postgres://127.0.0.1:1/none' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.status, 1);
    assert.match(child.stderr.trim(), /^carequeue: invalid configuration: JWT_SECRET: /);
    assert.equal(child.stderr.trim().split('\n').length, 1);
  });
});
