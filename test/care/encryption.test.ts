// Encryption at rest, read from below the API: the raw columns hold none of what was written, a wrong key
// stops the server at start, a rotation re-encrypts everything under the new key (and the old key then
// no longer starts it), and no log line carries a record's content.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { ConfigError } from '../../src/config.js';
import { keyIdOf } from '../../src/lib/cipher.js';
import { buildTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { captureLogs } from '../helpers/logs.js';
import { skipWithout } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { call, careFixture, startOn, writtenRecord } from './fixtures.js';

const skip = await skipWithout('postgres');
const SEALED_TABLES = [
  'medical_histories',
  'visit_records',
  'visit_record_versions',
  'prescriptions',
  'record_attachments',
];

/** Words that appear only in what the test writes, so finding one anywhere is a leak. */
const marker = (tag: string) => `${tag}${randomBytes(6).toString('hex')}`;

async function rawText(url: string, tables: string[]): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    let text = '';
    for (const table of tables) {
      const { rows } = await client.query(`select t::text as row from ${table} t`);
      for (const { row } of rows)
        text += `${row}\n${Buffer.from(row.replace(/\\x/g, ''), 'hex').toString('latin1')}\n`;
    }
    return text;
  } finally {
    await client.end();
  }
}

describe('encryption at rest', { skip }, () => {
  test('the raw columns hold no plain text of a history, a record, its versions or a prescription', async (t) => {
    const { app, databaseUrl } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 1);
    const [p1] = f.patients;
    const words = {
      allergy: marker('allergy'),
      complaint: marker('complaint'),
      diagnosis: marker('diagnosis'),
      edited: marker('edited'),
      drug: marker('drug'),
    };
    await call(app, p1, 'PATCH', `/v1/patients/${p1.profileId}/history`, {
      allergies: [words.allergy],
      bloodGroup: 'AB-',
    });
    const recordId = await writtenRecord(app, f, p1);
    await call(app, f.doctor, 'PATCH', `/v1/records/${recordId}`, {
      complaint: words.complaint,
      diagnosis: words.diagnosis,
    });
    await call(app, f.doctor, 'PATCH', `/v1/records/${recordId}`, { notes: words.edited });
    const rx = await call(app, f.doctor, 'POST', `/v1/records/${recordId}/prescriptions`, {
      items: [{ drug: words.drug, dose: '1', frequency: 'daily', duration: '3 days' }],
    });
    assert.equal(rx.statusCode, 201, rx.body);
    // Through the API it all reads back.
    const record = (await call(app, p1, 'GET', `/v1/records/${recordId}`)).json();
    assert.equal(record.diagnosis, words.diagnosis);
    assert.equal(record.notes, words.edited);

    const raw = await rawText(databaseUrl!, [...SEALED_TABLES, 'audit_log']);
    assert.ok(raw.length > 500, 'the rows were read');
    for (const word of [...Object.values(words), 'AB-', 'Persistent cough', 'J45.30', 'Salbutamol']) {
      assert.ok(!raw.includes(word), `raw rows contain ${word}`);
    }
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      for (const table of SEALED_TABLES) {
        const { rows } = await client.query(`select distinct key_id from ${table}`);
        assert.ok(
          rows.every((r) => r.key_id === keyIdOf(Buffer.from(TEST_ENCRYPTION_KEY, 'hex'))),
          `${table} rows name the current key`,
        );
      }
      const { rows: versions } = await client.query('select count(*)::int as n from visit_record_versions');
      assert.equal(versions[0].n, 2, 'both earlier versions are kept, sealed');
    } finally {
      await client.end();
    }
  });

  test('a wrong key fails at start; a rotation re-encrypts under the new key and retires the old one', async (t) => {
    const database = await createPostgresDatabase();
    t.after(() => database.drop());
    const oldKey = randomBytes(32).toString('hex');
    const newKey = randomBytes(32).toString('hex');
    const allergy = marker('allergy');

    let app = await startOn(database.url, oldKey);
    const patient = await makeUser(app, 'patient');
    const url = `/v1/patients/${patient.profileId}/history`;
    assert.equal((await call(app, patient, 'PATCH', url, { allergies: [allergy] })).statusCode, 200);
    await app.close();

    await assert.rejects(startOn(database.url, newKey), (err: Error) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /^ENCRYPTION_KEY: not the key this database/);
      return true;
    });

    app = await startOn(database.url, newKey, oldKey);
    assert.deepEqual(
      (await call(app, patient, 'GET', url)).json().allergies,
      [allergy],
      'old values still open',
    );
    const report = await app.care.rotateKeys(undefined, 1);
    assert.ok(report.values >= 1);
    await app.close();
    // The operator's command, run again: everything is under the new key already.
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'rotate-key'], {
      cwd: join(import.meta.dirname, '../..'),
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: database.url,
        JWT_SECRET: TEST_JWT_SECRET,
        ENCRYPTION_KEY: newKey,
        ENCRYPTION_KEY_PREVIOUS: oldKey,
        NOTIFY_CRON: 'false',
        SEED_DEMO: 'false',
        LOG_LEVEL: 'silent',
      },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /done: 0 values \(0 attachments\) re-encrypted/);

    app = await startOn(database.url, newKey);
    assert.deepEqual((await call(app, patient, 'GET', url)).json().allergies, [allergy]);
    const rows = await app.db.selectFrom('medicalHistories').select('keyId').execute();
    assert.deepEqual(
      rows.map((r) => r.keyId),
      [keyIdOf(Buffer.from(newKey, 'hex'))],
    );
    await app.close();
    await assert.rejects(startOn(database.url, oldKey), ConfigError);
  });

  test('no log line holds a record’s content, even at trace level', async (t) => {
    const { logger, lines } = captureLogs();
    const { app } = await buildTestApp(t, { backend: 'postgres', logger });
    const f = await careFixture(app, 1);
    const [p1] = f.patients;
    const words = [marker('allergy'), marker('finding'), marker('reason')];
    await call(app, p1, 'PATCH', `/v1/patients/${p1.profileId}/history`, { allergies: [words[0]] });
    const recordId = await writtenRecord(app, f, p1);
    await call(app, f.doctor, 'PATCH', `/v1/records/${recordId}`, { findings: words[1] });
    await call(app, f.doctor, 'PATCH', `/v1/records/${recordId}`, {
      vitals: { pulse: 1 },
      findings: words[1],
    });
    await call(app, f.admin, 'POST', `/v1/records/${recordId}/break-glass`, {
      reason: `${words[2]} emergency`,
    });
    await call(app, p1, 'GET', `/v1/records/${recordId}`);
    const log = lines.join('');
    assert.ok(log.includes('/v1/records/'), 'requests were logged');
    for (const word of words) assert.ok(!log.includes(word), `the log holds ${word}`);
  });
});
