// A doctor's record follows its account (issue 13): accounts never writes doctors; the directory writes the row
// and the listed name inside the accounts transaction, from the account.doctor_registered and account.renamed
// events.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

async function countOf(app: FastifyInstance, table: 'users' | 'doctors'): Promise<number> {
  const row = await app.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const doctorName = async (app: FastifyInstance, doctorId: string) =>
  (await app.inject({ url: `/v1/doctors/${doctorId}` })).json().name;

for (const backend of await databaseBackends()) {
  describe(`doctor records follow their accounts [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('a doctor renaming their account shows the new name on their profile at once', async () => {
      const { app } = shared.current;
      const doctor = await makeUser(app, 'doctor', { name: 'Dr. Before' });
      assert.equal(await doctorName(app, doctor.doctorId as string), 'Dr. Before', 'profile now cached');
      const renamed = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: doctor.auth,
        payload: { name: 'Dr. After' },
      });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(await doctorName(app, doctor.doctorId as string), 'Dr. After');
    });

    test('an admin renaming a doctor, or making a patient a doctor, keeps the doctors row in step', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const doctor = await makeUser(app, 'doctor', { name: 'Dr. Listed' });
      const rename = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${doctor.id}`,
        headers: admin.auth,
        payload: { name: 'Dr. Relisted' },
      });
      assert.equal(rename.statusCode, 200, rename.body);
      assert.equal(await doctorName(app, doctor.doctorId as string), 'Dr. Relisted');

      const patient = await makeUser(app, 'patient', { name: 'Soon Doctor' });
      const promote = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${patient.id}`,
        headers: admin.auth,
        payload: { role: 'doctor' },
      });
      assert.equal(promote.statusCode, 200, promote.body);
      const doctorId = promote.json().doctorId;
      assert.ok(doctorId, 'the account now has a doctors row');
      const row = await app.db
        .selectFrom('doctors')
        .select(['userId', 'name', 'licenseNo', 'verifiedAt'])
        .where('id', '=', doctorId)
        .executeTakeFirstOrThrow();
      assert.deepEqual(row, { userId: patient.id, name: 'Soon Doctor', licenseNo: null, verifiedAt: null });
    });

    test('a licence number another doctor holds refuses the account, by sign-up or by an admin, and stores nothing', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const licenseNo = `BMDC-TAKEN-${Date.now()}`;
      await makeUser(app, 'doctor', { licenseNo });
      const before = { users: await countOf(app, 'users'), doctors: await countOf(app, 'doctors') };
      const payload = { password: PASSWORD, name: 'Dr. Second', role: 'doctor', licenseNo };
      const signUp = await app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { ...payload, email: uniqueEmail('twin') },
      });
      const byAdmin = await app.inject({
        method: 'POST',
        url: '/v1/admin/users',
        headers: admin.auth,
        payload: { ...payload, email: uniqueEmail('twin') },
      });
      for (const res of [signUp, byAdmin]) {
        assert.equal(res.statusCode, 409, res.body);
        assert.equal(res.json().code, 'CONFLICT');
        assert.equal(res.json().details[0].field, 'body.licenseNo');
      }
      assert.deepEqual(
        { users: await countOf(app, 'users'), doctors: await countOf(app, 'doctors') },
        before,
      );
    });
  });
}
