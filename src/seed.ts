// Demo data for the embedded mode: a clinic that works the moment it starts.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { verifyPassword } from './lib/password.js';
import { seedHistory } from './modules/day/history/history.seed.js';
import { seedDirectory } from './modules/directory/directory.seed.js';
import { seedSchedule } from './modules/schedule/schedule.seed.js';

export const DEMO_PASSWORD = 'carequeue-demo';

export const DEMO_LOGINS = [
  { role: 'admin', email: 'admin@demo.carequeue.local' },
  { role: 'staff', email: 'desk@demo.carequeue.local' },
  { role: 'doctor', email: 'dr.rahman@demo.carequeue.local' },
  { role: 'patient', email: 'patient@demo.carequeue.local' },
] as const;

/**
 * Empty enough to seed: no hospital and no account but admins. ADMIN_EMAIL creates its admin at start, before
 * seeding runs, and that alone must not make a new database look used.
 */
export async function isEmpty(app: FastifyInstance): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    select (select count(*) from users where role <> 'admin')::int
         + (select count(*) from hospitals)::int as n`.execute(app.db);
  return rows[0].n === 0;
}

/** The demo logins that work now (the account is there, enabled, with the demo password): what to print. */
export async function workingDemoLogins(app: FastifyInstance): Promise<(typeof DEMO_LOGINS)[number][]> {
  const rows = await app.db
    .selectFrom('users')
    .select(['email', 'role', 'passwordHash', 'disabledAt'])
    .where(
      'email',
      'in',
      DEMO_LOGINS.map((l) => l.email),
    )
    .execute();
  const working = [];
  for (const login of DEMO_LOGINS) {
    const row = rows.find((r) => r.email.toLowerCase() === login.email);
    if (
      row &&
      row.role === login.role &&
      !row.disabledAt &&
      (await verifyPassword(DEMO_PASSWORD, row.passwordHash))
    )
      working.push(login);
  }
  return working;
}

const SEED_LOCK = 727_002;

/**
 * Seeds the demo clinic. Returns false (and does nothing) when the database already holds data (isEmpty). On a shared
 * Postgres an advisory lock makes instances starting together seed once (PGlite has one process by nature).
 */
export async function seedDemo(app: FastifyInstance): Promise<boolean> {
  if (app.dbKind !== 'postgres') return seedEmpty(app);
  return app.db.connection().execute(async (lock) => {
    await sql`select pg_advisory_lock(${SEED_LOCK})`.execute(lock);
    try {
      return await seedEmpty(app);
    } finally {
      await sql`select pg_advisory_unlock(${SEED_LOCK})`.execute(lock);
    }
  });
}

async function seedEmpty(app: FastifyInstance): Promise<boolean> {
  if (!(await isEmpty(app))) return false;
  const admin = { id: '' };
  await app.accounts.admin.ensureAdmin(DEMO_LOGINS[0].email, DEMO_PASSWORD, 'Demo Admin');
  admin.id = (
    await app.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', DEMO_LOGINS[0].email)
      .executeTakeFirstOrThrow()
  ).id;
  const hospital = await app.db
    .insertInto('hospitals')
    .values({
      name: 'Dhanmondi General Hospital',
      city: 'Dhaka',
      address: 'Road 27, Dhanmondi',
      phone: '+8809610001234',
      timezone: 'Asia/Dhaka',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const actor = { id: admin.id };
  await app.accounts.admin.createUser(actor, {
    email: DEMO_LOGINS[1].email,
    password: DEMO_PASSWORD,
    name: 'Front Desk',
    role: 'staff',
    hospitalId: hospital.id,
  });
  // Verified with the other demo doctors by the directory seed.
  await app.accounts.admin.createUser(actor, {
    email: DEMO_LOGINS[2].email,
    password: DEMO_PASSWORD,
    name: 'Dr. Ayesha Rahman',
    role: 'doctor',
    licenseNo: 'BMDC-A-10234',
  });
  await app.accounts.auth.register({
    email: DEMO_LOGINS[3].email,
    password: DEMO_PASSWORD,
    name: 'Karim Hossain',
    phone: '+8801711000001',
    role: 'patient',
  });
  const sittings = await seedDirectory(app, { adminId: admin.id, password: DEMO_PASSWORD });
  await seedSchedule(app, { password: DEMO_PASSWORD, sittings });
  await seedHistory(app.db, app.clock, { skipAccount: DEMO_LOGINS[3].email });
  return true;
}
