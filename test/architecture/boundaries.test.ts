// Module boundaries (issue 13): a module reaches another through its service or an event, never its
// repository, and SQL in a module writes only the tables that module owns (from the *.table.ts files; the
// session day's rows — session_days, queue_events, appointments' inserts and status columns — belong to the
// day ledger). Any violation fails the suite.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  describeImport,
  describeWrite,
  foreignWrites,
  moduleFiles,
  repositoryImports,
  type SourceFile,
  tableOwners,
  tableWrites,
} from './scan.js';

/** The directory's triggers on its own tables: search columns (0002, 0005), a new hospital's code (0016). */
const DIRECTORY_TRIGGERS = [
  'hospital_code_base',
  'hospitals_default_code',
  'doctor_cities_refresh',
  'doctor_name_words_sync',
  'doctor_specialization_names_refresh',
  'doctor_specializations_names_changed',
  'doctors_visit_count_delete',
  'doctors_visit_count_insert',
  'doctors_visit_count_update',
  'hospitals_cities_update',
  'sessions_cities_delete',
  'sessions_cities_insert',
  'sessions_cities_update',
  'specializations_renamed',
];

const files = moduleFiles();
const owners = tableOwners(files);
const imports = [...new Set(repositoryImports(files).map(describeImport))];
const writes = [
  ...new Set(foreignWrites(tableWrites(files, new Set(owners.keys())), owners).map(describeWrite)),
];

describe('module boundaries', () => {
  test('every table has an owner, taken from the *.table.ts files and the day ledger', () => {
    // The Database interface (src/db/database.ts) is assembled from these; a table without an owner
    // would escape the write check.
    for (const table of [
      'users',
      'appointments',
      'idempotency_keys',
      'doctors',
      'sessions',
      'notification_outbox',
    ])
      assert.ok(owners.has(table), table);
    assert.equal(owners.get('session_days'), 'day');
    assert.equal(owners.get('queue_events'), 'day');
    assert.equal(owners.get('appointments'), 'appointments');
    assert.equal(owners.get('doctors'), 'directory');
    assert.equal(owners.get('sessions'), 'schedule');
  });

  test('no module imports another module’s repository', () => {
    assert.deepEqual(imports, []);
  });

  test('no module writes a table another module owns', () => {
    assert.deepEqual(writes, []);
  });

  test('SQL functions in migrations belong to the day ledger or the directory (no writes hidden there)', () => {
    // day_book_place is the booking statement: it writes the day's rows, the Idempotency-Key the booking
    // claims and the outbox rows notifications drafted for it (issue 13: one statement per booking). The
    // others are the directory's triggers keeping its own search columns (names, cities, visit counts) in
    // step with the tables they summarise; a new function must be added here on purpose.
    const dir = join(import.meta.dirname, '../../migrations');
    const names = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [
        ...readFileSync(join(dir, f), 'utf8').matchAll(/create\s+(?:or\s+replace\s+)?function\s+(\w+)/gi),
      ])
      .map((m) => m[1]);
    assert.ok(names.includes('day_book_place'), 'the scan sees the booking statement');
    assert.deepEqual(
      names.filter((n) => !n.startsWith('day_') && !DIRECTORY_TRIGGERS.includes(n)),
      [],
    );
  });
});

describe('the boundary scan itself', () => {
  const owned = new Map([
    ['appointments', 'appointments'],
    ['doctors', 'directory'],
    ['session_days', 'day'],
    ['queue_events', 'day'],
  ]);
  const scan = (module: string, text: string) => {
    const file: SourceFile = { path: `src/modules/${module}/${module}.x.ts`, module, text };
    return {
      imports: repositoryImports([file]).map(describeImport),
      writes: foreignWrites(tableWrites([file], new Set(owned.keys())), owned).map(describeWrite),
    };
  };

  test('finds value and type imports of another module’s repository, not of its own or of a service', () => {
    const found = scan(
      'queue',
      [
        "import { lockDay } from '../day/day.repository.js';",
        "import type { LockedDay } from '../day/day.repository.js';",
        "import * as repo from './queue.repository.js';",
        "import { DayLedger } from '../day/day.ledger.js';",
        "// import { x } from '../schedule/schedule.repository.js';",
        "const lazy = await import('../schedule/schedule.repository.js');",
      ].join('\n'),
    ).imports;
    assert.deepEqual(found, [
      'src/modules/queue/queue.x.ts imports src/modules/day/day.repository.ts',
      'src/modules/queue/queue.x.ts imports src/modules/day/day.repository.ts',
      'src/modules/queue/queue.x.ts imports src/modules/schedule/schedule.repository.ts',
    ]);
  });

  test('finds Kysely and raw SQL writes of foreign tables; reads, locks and upserts are not writes', () => {
    const found = scan(
      'queue',
      [
        "db.insertInto('queueEvents').values(v).execute();",
        "trx.updateTable('sessionDays as d').set({ version: 1 }).execute();",
        "trx.deleteFrom('doctors').where('id', '=', id).execute();",
        "db.selectFrom('appointments').selectAll().forUpdate().execute();",
        'sql`select * from session_days for update skip locked`;',
        'sql`insert into session_days (id) values (1) on conflict (id) do update set id = excluded.id`;',
        'sql`update doctors d set recent_visits = 1 where d.id = x`;',
        '// update doctors set name = 1',
      ].join('\n'),
    ).writes;
    assert.deepEqual(found, [
      'src/modules/queue/queue.x.ts inserts queue_events, owned by day',
      'src/modules/queue/queue.x.ts updates session_days, owned by day',
      'src/modules/queue/queue.x.ts deletes doctors, owned by directory',
      'src/modules/queue/queue.x.ts inserts session_days, owned by day',
      'src/modules/queue/queue.x.ts updates doctors, owned by directory',
    ]);
  });

  test('appointments: its module may update other columns; status columns, inserts and deletes are the day ledger’s', () => {
    const own = scan(
      'appointments',
      [
        "db.updateTable('appointments').set({ rating: 5 }).where('status', '=', 'completed').execute();",
        'sql`update appointments set reminded_at = now() where status = 1`;',
        "db.updateTable('appointments').set({ status: 'cancelled', cancelledAt: now }).execute();",
        'sql`update appointments a set status = 2 where a.id = 3`;',
        "db.insertInto('appointments').values(row).execute();",
      ].join('\n'),
    ).writes;
    assert.deepEqual(own, [
      'src/modules/appointments/appointments.x.ts updates appointments (status, cancelled_at), owned by day',
      'src/modules/appointments/appointments.x.ts inserts appointments, owned by day',
      'src/modules/appointments/appointments.x.ts updates appointments (status), owned by day',
    ]);
    assert.deepEqual(scan('day', "db.insertInto('appointments').values(row).execute();").writes, []);
    assert.deepEqual(scan('queue', "db.updateTable('appointments').set({ rating: 5 }).execute();").writes, [
      'src/modules/queue/queue.x.ts updates appointments, owned by appointments',
    ]);
  });
});
