// Prescriptions over HTTP: written by the record's doctor, listed for the patient's account, printed as
// HTML and PDF with the hospital, doctor, licence, date and QR, and checked publicly without their content.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTestApp } from '../helpers/app.js';
import { skipWithout } from '../helpers/services.js';
import { call, careFixture, writtenRecord } from './fixtures.js';

const skip = await skipWithout('postgres');

const ITEMS = [
  {
    drug: 'Salbutamol inhaler',
    strength: '100 mcg',
    dose: '2 puffs',
    frequency: 'when short of breath',
    duration: '30 days',
  },
  {
    drug: 'Montelukast',
    strength: '10 mg',
    dose: '1 tablet',
    frequency: 'at night',
    duration: '14 days',
    instructions: 'after dinner',
  },
];

describe('prescriptions', { skip }, () => {
  test('the record’s doctor prescribes; the patient lists and prints; others are refused', async (t) => {
    const { app } = await buildTestApp(t, {
      backend: 'postgres',
      env: { PUBLIC_URL: 'https://clinic.example' },
    });
    const f = await careFixture(app, 2);
    const [p1, p2] = f.patients;
    const recordId = await writtenRecord(app, f, p1);
    const url = `/v1/records/${recordId}/prescriptions`;

    for (const bad of [{ items: [] }, { items: [{ drug: 'X' }] }, { items: ITEMS, extra: 1 }, {}]) {
      assert.equal((await call(app, f.doctor, 'POST', url, bad)).statusCode, 400, JSON.stringify(bad));
    }
    assert.equal((await call(app, f.otherDoctor, 'POST', url, { items: ITEMS })).statusCode, 403);
    assert.equal((await call(app, p1, 'POST', url, { items: ITEMS })).statusCode, 403);

    const created = await call(app, f.doctor, 'POST', url, { items: ITEMS });
    assert.equal(created.statusCode, 201, created.body);
    const rx = created.json();
    assert.deepEqual(rx.items, ITEMS);
    assert.match(
      rx.verifyUrl,
      new RegExp(`^https://clinic\\.example/v1/prescriptions/${rx.id}/verify\\?code=`),
    );

    const mine = await call(app, p1, 'GET', '/v1/me/prescriptions');
    assert.deepEqual(
      mine.json().items.map((p: { id: string }) => p.id),
      [rx.id],
    );
    assert.equal((await call(app, p2, 'GET', '/v1/me/prescriptions')).json().items.length, 0);
    const record = await call(app, p1, 'GET', `/v1/records/${recordId}`);
    assert.deepEqual(
      record.json().prescriptions.map((p: { id: string }) => p.id),
      [rx.id],
    );

    const html = await call(app, p1, 'GET', `/v1/prescriptions/${rx.id}`);
    assert.equal(html.statusCode, 200, html.body);
    assert.match(html.headers['content-type'] as string, /^text\/html/);
    const licence = (
      await app.db
        .selectFrom('doctors')
        .select('licenseNo')
        .where('id', '=', f.doctor.doctorId!)
        .executeTakeFirstOrThrow()
    ).licenseNo!;
    const hospital = (
      await app.db
        .selectFrom('hospitals')
        .select('name')
        .where('id', '=', f.hospitalId)
        .executeTakeFirstOrThrow()
    ).name;
    for (const expected of [licence, hospital, 'Dr. Queue', 'Salbutamol inhaler', '<svg', f.date]) {
      assert.ok(html.body.includes(expected), `the printout shows ${expected}`);
    }
    const pdf = await app.inject({
      method: 'GET',
      url: `/v1/prescriptions/${rx.id}`,
      headers: { ...p1.auth, accept: 'application/pdf' },
    });
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    assert.equal(pdf.rawPayload.subarray(0, 5).toString(), '%PDF-');
    const linked = await call(app, p1, 'GET', `/v1/prescriptions/${rx.id}?format=pdf`);
    assert.equal(linked.rawPayload.subarray(0, 5).toString(), '%PDF-');

    assert.equal((await call(app, p2, 'GET', `/v1/prescriptions/${rx.id}`)).statusCode, 404);
    assert.equal((await call(app, f.staff, 'GET', `/v1/prescriptions/${rx.id}`)).statusCode, 403);
    assert.equal((await call(app, f.otherDoctor, 'GET', `/v1/prescriptions/${rx.id}`)).statusCode, 403);
  });

  test('the public check tells validity and the day only', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 1);
    const recordId = await writtenRecord(app, f, f.patients[0]);
    const rx = (
      await call(app, f.doctor, 'POST', `/v1/records/${recordId}/prescriptions`, { items: ITEMS })
    ).json();
    const verify = new URL(rx.verifyUrl);
    const ok = await call(app, null, 'GET', `${verify.pathname}${verify.search}`);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json(), { valid: true, issuedOn: f.date });
    const wrong = await call(app, null, 'GET', `/v1/prescriptions/${rx.id}/verify?code=guessed`);
    assert.deepEqual(wrong.json(), { valid: false, issuedOn: null });
    const unknown = await call(app, null, 'GET', `/v1/prescriptions/${crypto.randomUUID()}/verify?code=x`);
    assert.deepEqual(unknown.json(), { valid: false, issuedOn: null });
    assert.equal((await call(app, null, 'GET', `/v1/prescriptions/${rx.id}/verify`)).statusCode, 400);
    assert.equal((await call(app, null, 'GET', `/v1/prescriptions/${rx.id}`)).statusCode, 401);
  });
});
