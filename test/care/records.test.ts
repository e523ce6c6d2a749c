// Care records over HTTP: medical history, visit records and their access matrix (patient vs another,
// guardian vs dependent, the visit's doctor vs one who never saw the patient, staff, admin with and without
// break-glass), the write window, versions, bad input and the patient's record-access list.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTestApp } from '../helpers/app.js';
import { skipWithout } from '../helpers/services.js';
import { bookFor, call, callPatient, careFixture, completeVisit, RECORD, writtenRecord } from './fixtures.js';

const skip = await skipWithout('postgres');

describe('medical history', { skip }, () => {
  test('the owner and a doctor with a visit today read and edit it; others are refused; doctors are audited', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app);
    const [p1, p2] = f.patients;
    const url = `/v1/patients/${p1.profileId}/history`;

    const empty = await call(app, p1, 'GET', url);
    assert.equal(empty.statusCode, 200, empty.body);
    assert.deepEqual(empty.json().allergies, []);
    assert.equal(empty.json().updatedAt, null);

    const saved = await call(app, p1, 'PATCH', url, { allergies: ['Penicillin'], bloodGroup: 'O+' });
    assert.equal(saved.statusCode, 200, saved.body);
    assert.deepEqual(saved.json().allergies, ['Penicillin']);

    // The doctor has p1 in today's queue: may read and add.
    const byDoctor = await call(app, f.doctor, 'PATCH', url, { chronicConditions: ['Asthma'] });
    assert.equal(byDoctor.statusCode, 200, byDoctor.body);
    assert.deepEqual(byDoctor.json().allergies, ['Penicillin'], 'fields left out keep their value');
    assert.deepEqual(byDoctor.json().chronicConditions, ['Asthma']);

    assert.equal((await call(app, p2, 'GET', url)).json().code, 'NOT_FOUND');
    assert.equal((await call(app, p2, 'PATCH', url, { notes: 'x' })).statusCode, 404);
    for (const other of [f.otherDoctor, f.staff, f.admin]) {
      const res = await call(app, other, 'GET', url);
      assert.equal(res.statusCode, 403, `${other.role}: ${res.body}`);
      assert.equal(res.json().code, 'FORBIDDEN');
    }
    assert.equal((await call(app, null, 'GET', url)).statusCode, 401);

    const trail = await call(app, p1, 'GET', '/v1/me/record-access');
    assert.equal(trail.statusCode, 200, trail.body);
    const actions = trail
      .json()
      .items.map((e: { action: string; actor: { id: string } }) => [e.action, e.actor.id]);
    assert.deepEqual(
      actions,
      [['history.write', f.doctor.id]],
      'the owner’s own reads and writes are not listed',
    );
  });

  test('a guardian keeps a dependent’s history; the dependent’s history is nobody else’s', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 2);
    const [guardian, other] = f.patients;
    const dep = await call(app, guardian, 'POST', '/v1/me/dependents', {
      name: 'Child One',
      relation: 'child',
    });
    assert.equal(dep.statusCode, 201, dep.body);
    const url = `/v1/patients/${dep.json().id}/history`;
    const saved = await call(app, guardian, 'PATCH', url, { allergies: ['Peanuts'] });
    assert.equal(saved.statusCode, 200, saved.body);
    assert.deepEqual((await call(app, guardian, 'GET', url)).json().allergies, ['Peanuts']);
    assert.equal((await call(app, other, 'GET', url)).statusCode, 404);
    assert.equal((await call(app, f.doctor, 'GET', url)).statusCode, 403, 'no visit with the dependent');
  });

  test('bad input answers 400 and changes nothing', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 1);
    const [p1] = f.patients;
    const url = `/v1/patients/${p1.profileId}/history`;
    await call(app, p1, 'PATCH', url, { allergies: ['Latex'] });
    for (const body of [
      { bloodGroup: 'Z+' },
      { allergies: 'Latex' },
      { allergies: [''] },
      { unknown: 1 },
      {},
      { notes: 'x'.repeat(4001) },
      { allergies: Array.from({ length: 51 }, (_, i) => `a${i}`) },
    ]) {
      const res = await call(app, p1, 'PATCH', url, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().code, 'VALIDATION_FAILED');
    }
    assert.equal((await call(app, p1, 'GET', '/v1/patients/not-a-uuid/history')).statusCode, 400);
    assert.equal((await call(app, p1, 'GET', `/v1/patients/${crypto.randomUUID()}/history`)).statusCode, 404);
    assert.deepEqual((await call(app, p1, 'GET', url)).json().allergies, ['Latex']);
  });
});

describe('visit records', { skip }, () => {
  test('the visit’s doctor writes from the call on; the patient reads; others are refused', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app);
    const [p1, p2] = f.patients;
    const url = `/v1/patients/${p1.profileId}/records`;
    const body = { appointmentId: p1.appointmentId, ...RECORD };

    const early = await call(app, f.doctor, 'POST', url, body);
    assert.equal(early.statusCode, 409, 'not before check-in');
    assert.equal(early.json().code, 'CONFLICT');

    await callPatient(app, f, p1.appointmentId);
    assert.equal((await call(app, f.otherDoctor, 'POST', url, body)).statusCode, 403);
    assert.equal((await call(app, f.staff, 'POST', url, body)).statusCode, 403);
    assert.equal(
      (await call(app, f.doctor, 'POST', `/v1/patients/${p2.profileId}/records`, body)).statusCode,
      404,
      'the appointment is not that profile’s',
    );

    const created = await call(app, f.doctor, 'POST', url, body);
    assert.equal(created.statusCode, 201, created.body);
    const record = created.json();
    assert.equal(record.diagnosis, RECORD.diagnosis);
    assert.equal(record.version, 1);
    assert.deepEqual(record.vitals, RECORD.vitals);
    const again = await call(app, f.doctor, 'POST', url, body);
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().details.recordId, record.id);

    const own = await call(app, p1, 'GET', `/v1/records/${record.id}`);
    assert.equal(own.statusCode, 200, own.body);
    assert.equal(own.json().complaint, RECORD.complaint);
    const list = await call(app, p1, 'GET', url);
    assert.deepEqual(
      list.json().items.map((r: { id: string }) => r.id),
      [record.id],
    );

    assert.equal((await call(app, p2, 'GET', `/v1/records/${record.id}`)).statusCode, 404);
    for (const other of [f.otherDoctor, f.staff, f.otherStaff, f.admin]) {
      const res = await call(app, other, 'GET', `/v1/records/${record.id}`);
      assert.equal(res.statusCode, 403, other.role);
      assert.equal(res.json().details.breakGlass, true);
      assert.equal((await call(app, other, 'GET', url)).statusCode, 403);
    }
  });

  test('bad vitals, codes and dates answer 400 and write nothing', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 1);
    const [p1] = f.patients;
    await callPatient(app, f, p1.appointmentId);
    const url = `/v1/patients/${p1.profileId}/records`;
    for (const bad of [
      { vitals: { bpSystolic: 400, bpDiastolic: 80 } },
      { vitals: { bpSystolic: 120, bpDiastolic: 130 } },
      { vitals: { bpSystolic: 120 } },
      { vitals: { pulse: 5 } },
      { vitals: { temperature: 50 } },
      { vitals: { weight: 0 } },
      { vitals: { pulse: '80' } },
      { icd10: 'not-a-code' },
      { icd10: 'U07.1' },
      { followUpDate: '2000-01-01' },
      { followUpDate: 'tomorrow' },
      { complaint: '' },
      { extra: true },
    ]) {
      const res = await call(app, f.doctor, 'POST', url, { appointmentId: p1.appointmentId, ...bad });
      assert.equal(res.statusCode, 400, `${JSON.stringify(bad)}: ${res.body}`);
      assert.equal(res.json().code, 'VALIDATION_FAILED');
    }
    assert.equal((await call(app, p1, 'GET', url)).json().items.length, 0);
  });

  test('edits keep the earlier version; the record closes 7 days after the visit', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 1);
    const [p1] = f.patients;
    await callPatient(app, f, p1.appointmentId);
    const created = await call(app, f.doctor, 'POST', `/v1/patients/${p1.profileId}/records`, {
      appointmentId: p1.appointmentId,
      ...RECORD,
    });
    const id = created.json().id;
    const edited = await call(app, f.doctor, 'PATCH', `/v1/records/${id}`, { diagnosis: 'Asthma, moderate' });
    assert.equal(edited.statusCode, 200, edited.body);
    assert.equal(edited.json().version, 2);
    assert.equal(edited.json().complaint, RECORD.complaint);
    const versions = await call(app, p1, 'GET', `/v1/records/${id}/versions`);
    assert.deepEqual(
      versions.json().items.map((v: { version: number; diagnosis: string }) => [v.version, v.diagnosis]),
      [[1, RECORD.diagnosis]],
    );
    assert.equal(
      (await call(app, f.otherDoctor, 'PATCH', `/v1/records/${id}`, { notes: 'x' })).statusCode,
      403,
    );

    await completeVisit(app, f, p1.appointmentId);
    assert.equal(
      (await call(app, f.doctor, 'PATCH', `/v1/records/${id}`, { notes: 'Day after' })).statusCode,
      200,
    );
    await app.db
      .updateTable('appointments')
      .set({ completedAt: new Date(Date.now() - 8 * 24 * 3600 * 1000) })
      .where('id', '=', p1.appointmentId)
      .execute();
    const late = await call(app, f.doctor, 'PATCH', `/v1/records/${id}`, { notes: 'Too late' });
    assert.equal(late.statusCode, 409);
    assert.equal((await call(app, p1, 'GET', `/v1/records/${id}`)).json().notes, 'Day after');
  });

  test('break-glass needs a reason, is audited and shows in the patient’s access list', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 2);
    const [p1, p2] = f.patients;
    const id = await writtenRecord(app, f, p1);
    const url = `/v1/records/${id}/break-glass`;
    assert.equal((await call(app, f.admin, 'POST', url, { reason: 'short' })).statusCode, 400);
    assert.equal((await call(app, f.admin, 'POST', url, {})).statusCode, 400);
    assert.equal((await call(app, p2, 'POST', url, { reason: 'I want to see it please' })).statusCode, 403);
    const reason = 'Unconscious patient in emergency, allergies needed';
    const opened = await call(app, f.admin, 'POST', url, { reason });
    assert.equal(opened.statusCode, 200, opened.body);
    assert.equal(opened.json().diagnosis, RECORD.diagnosis);
    assert.equal(
      (await call(app, f.admin, 'GET', `/v1/records/${id}`)).statusCode,
      403,
      'one read, not a grant',
    );

    const trail = (await call(app, p1, 'GET', '/v1/me/record-access')).json().items;
    const glass = trail.find((e: { action: string }) => e.action === 'break_glass');
    assert.ok(glass, JSON.stringify(trail));
    assert.equal(glass.reason, reason);
    assert.equal(glass.recordId, id);
    assert.equal(glass.actor.id, f.admin.id);
    assert.equal(glass.actor.role, 'admin');
    assert.ok(
      trail.some(
        (e: { action: string; actor: { id: string } }) =>
          e.action === 'record.write' && e.actor.id === f.doctor.id,
      ),
    );
    assert.equal((await call(app, p2, 'GET', '/v1/me/record-access')).json().items.length, 0);
  });

  test('a doctor who saw the patient before reads their records later; one who never did is refused', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 1);
    const [p1] = f.patients;
    const id = await writtenRecord(app, f, p1);
    await completeVisit(app, f, p1.appointmentId);
    // The visit moves into the past: no visit today, but a completed one.
    await app.db
      .updateTable('appointments')
      .set({ date: '2020-01-06' })
      .where('id', '=', p1.appointmentId)
      .execute();
    assert.equal((await call(app, f.doctor, 'GET', `/v1/records/${id}`)).statusCode, 200);
    assert.equal((await call(app, f.doctor, 'GET', `/v1/patients/${p1.profileId}/history`)).statusCode, 200);
    assert.equal((await call(app, f.otherDoctor, 'GET', `/v1/records/${id}`)).statusCode, 403);
  });

  test('a guardian reads a dependent’s records and prescriptions; another account does not', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const f = await careFixture(app, 2);
    const [guardian, other] = f.patients;
    const dep = (
      await call(app, guardian, 'POST', '/v1/me/dependents', { name: 'Child Two', relation: 'child' })
    ).json();
    const appointmentId = await bookFor(app, f, dep.id, guardian.id);
    await callPatient(app, f, appointmentId);
    const created = await call(app, f.doctor, 'POST', `/v1/patients/${dep.id}/records`, {
      appointmentId,
      ...RECORD,
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().id;
    const rx = await call(app, f.doctor, 'POST', `/v1/records/${id}/prescriptions`, {
      items: [{ drug: 'Paracetamol syrup', dose: '5 ml', frequency: 'every 6 hours', duration: '3 days' }],
    });
    assert.equal(rx.statusCode, 201, rx.body);

    assert.equal((await call(app, guardian, 'GET', `/v1/records/${id}`)).statusCode, 200);
    assert.equal((await call(app, guardian, 'GET', `/v1/patients/${dep.id}/records`)).json().items.length, 1);
    assert.deepEqual(
      (await call(app, guardian, 'GET', '/v1/me/prescriptions'))
        .json()
        .items.map((p: { id: string }) => p.id),
      [rx.json().id],
    );
    assert.equal((await call(app, other, 'GET', `/v1/records/${id}`)).statusCode, 404);
    assert.equal((await call(app, other, 'GET', `/v1/patients/${dep.id}/records`)).statusCode, 404);
    const trail = (await call(app, guardian, 'GET', '/v1/me/record-access')).json().items;
    assert.ok(trail.every((e: { profileId: string }) => e.profileId === dep.id));
    assert.ok(trail.length >= 2, 'the doctor’s record and prescription writes are listed');
  });

  test('the care routes are documented in /docs', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'postgres' });
    const doc = (await app.inject({ url: '/docs/json' })).json();
    for (const path of [
      '/v1/patients/{profileId}/history',
      '/v1/patients/{profileId}/records',
      '/v1/records/{id}',
      '/v1/records/{id}/break-glass',
      '/v1/me/record-access',
      '/v1/me/prescriptions',
      '/v1/prescriptions/{id}',
      '/v1/prescriptions/{id}/verify',
      '/v1/records/{id}/attachments',
      '/v1/attachments/{id}',
    ]) {
      assert.ok(doc.paths[path], `${path} is documented`);
    }
    assert.ok(doc.paths['/v1/records/{id}'].patch.requestBody);
  });
});
