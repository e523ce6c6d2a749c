import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DateTime } from 'luxon';
import { skipWithout } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser } from '../helpers/users.js';
import { type BillingClinic, billingClinic, callNext, completeFirst, ZONE } from './fixtures.js';

interface InvoiceBody {
  id: string;
  number: string;
  status: string;
  currency: string;
  total: number;
  items: { kind: string; description: string; amount: number }[];
  payments: { kind: string; method: string; amount: number; reference: string | null }[];
}

const year = () => DateTime.now().setZone(ZONE).year;

describe('invoices', { skip: await skipWithout('postgres') }, () => {
  const shared = sharedTestApp({ backend: 'postgres' });
  const app = () => shared.current.app;

  async function hospitalCode(hospitalId: string) {
    const row = await app()
      .db.selectFrom('hospitals')
      .select('code')
      .where('id', '=', hospitalId)
      .executeTakeFirstOrThrow();
    return row.code;
  }

  const invoiceOf = (c: BillingClinic, visit = 0, auth = c.queues[0].visits[visit].patient?.auth) =>
    app().inject({
      method: 'GET',
      url: `/v1/appointments/${c.queues[0].visits[visit].appointmentId}/invoice`,
      headers: auth,
    });

  const invoiceCount = async (c: BillingClinic) => {
    const row = await app()
      .db.selectFrom('invoices')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('hospitalId', '=', c.hospitalId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };

  test('completing a visit issues its invoice: number, line items, the hospital’s currency, and a PDF link', async () => {
    const c = await billingClinic(app(), { service: { name: 'ECG', fee: 300 }, fee: 800 });
    const patch = await app().inject({
      method: 'PATCH',
      url: `/v1/hospitals/${c.hospitalId}`,
      headers: c.admin.auth,
      payload: { currency: 'USD' },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    assert.equal(patch.json().currency, 'USD');
    assert.equal((await invoiceOf(c)).statusCode, 404, 'no invoice before the visit completes');
    await completeFirst(app(), c.staff, c.queues[0].queueId, 1);

    const res = await invoiceOf(c);
    assert.equal(res.statusCode, 200, res.body);
    const invoice = res.json() as InvoiceBody;
    assert.equal(invoice.number, `${await hospitalCode(c.hospitalId)}-${year()}-000001`);
    assert.equal(invoice.status, 'pending');
    assert.equal(invoice.currency, 'USD');
    assert.equal(invoice.total, 1100);
    assert.deepEqual(
      invoice.items.map((i) => [i.kind, i.description, i.amount]),
      [
        ['consultation', 'Consultation', 800],
        ['service', 'ECG', 300],
      ],
    );
    assert.equal((await invoiceOf(c, 1)).statusCode, 404, 'the visit in progress has none yet');

    const pdf = await app().inject({
      method: 'GET',
      url: `/v1/appointments/${c.queues[0].visits[0].appointmentId}/invoice`,
      headers: { ...c.queues[0].visits[0].patient?.auth, accept: 'application/pdf' },
    });
    assert.equal(pdf.statusCode, 200);
    assert.match(String(pdf.headers['content-type']), /^application\/pdf/);
    assert.equal(pdf.rawPayload.subarray(0, 4).toString(), '%PDF');

    const messages = await app()
      .db.selectFrom('notificationOutbox')
      .select(['kind', 'payload'])
      .where('appointmentId', '=', c.queues[0].visits[0].appointmentId)
      .where('kind', '=', 'invoice')
      .execute();
    assert.ok(messages.length > 0, 'the invoice message is written with the invoice');
    const payload = (
      typeof messages[0].payload === 'string' ? JSON.parse(messages[0].payload) : messages[0].payload
    ) as { invoiceUrl: string; invoiceNumber: string; fee: string };
    assert.equal(payload.invoiceNumber, invoice.number);
    assert.equal(payload.fee, 'USD 1,100.00');
    const link = new URL(payload.invoiceUrl);
    const byLink = await app().inject({ method: 'GET', url: link.pathname });
    assert.equal(byLink.statusCode, 200, 'the link works without signing in');
    assert.equal(byLink.rawPayload.subarray(0, 4).toString(), '%PDF');
    const forged = await app().inject({ method: 'GET', url: `${link.pathname.slice(0, -4)}AAAA` });
    assert.equal(forged.statusCode, 404);
    assert.equal(forged.json().code, 'NOT_FOUND');
  });

  test('a walk-in is billed the session fee; a visit without any fee gets no invoice', async () => {
    const c = await billingClinic(app(), { patients: 0, walkIns: 1, fee: 250 });
    await completeFirst(app(), c.staff, c.queues[0].queueId, 1);
    const res = await invoiceOf(c, 0, c.staff.auth);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as InvoiceBody).total, 250);

    const free = await billingClinic(app(), { patients: 1, fee: 0 });
    await completeFirst(app(), free.staff, free.queues[0].queueId, 1);
    assert.equal((await invoiceOf(free)).statusCode, 404);
    assert.equal(await invoiceCount(free), 0);
  });

  test('the invoice exists exactly when the completion commits: a rolled-back completion leaves no invoice and no number used', async () => {
    const c = await billingClinic(app(), { patients: 3 });
    let fail = false;
    app().events.inTransaction('queue.changed', async (_trx, e) => {
      if (fail && e.type === 'completed') throw new Error('the completion fails after billing ran');
    });
    await completeFirst(app(), c.staff, c.queues[0].queueId, 0);
    fail = true;
    const refused = await callNext(app(), c.staff, c.queues[0].queueId);
    fail = false;
    assert.equal(refused.statusCode, 500);
    assert.equal(await invoiceCount(c), 0, 'no invoice without the completion');
    const links = await app()
      .db.selectFrom('feedbackLinks')
      .select('appointmentId')
      .where('appointmentId', '=', c.queues[0].visits[0].appointmentId)
      .execute();
    assert.deepEqual(links, [], 'nor a feedback link');
    const first = await app()
      .db.selectFrom('appointments')
      .select('status')
      .where('id', '=', c.queues[0].visits[0].appointmentId)
      .executeTakeFirstOrThrow();
    assert.equal(first.status, 'called', 'the completion itself rolled back');

    await completeFirst(app(), c.staff, c.queues[0].queueId, 1);
    const numbers = await app()
      .db.selectFrom('invoices')
      .select('seq')
      .where('hospitalId', '=', c.hospitalId)
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      numbers.map((n) => n.seq),
      [1, 2],
      'the rolled-back number was given to the next invoice',
    );
  });

  test('a patient sees only their own invoices, staff only their hospital’s, admins all; doctors none', async () => {
    const c = await billingClinic(app(), { patients: 2 });
    await completeFirst(app(), c.staff, c.queues[0].queueId, 2);
    await completeFirst(app(), c.otherStaff, c.otherQueue.queueId, 1);
    const mine = c.queues[0].visits[0].patient;
    const theirs = c.queues[0].visits[1];
    assert.ok(mine);

    assert.equal((await invoiceOf(c, 1, mine.auth)).statusCode, 404, "another patient's invoice");
    assert.equal((await invoiceOf(c, 0, c.otherStaff.auth)).statusCode, 404, "another hospital's staff");
    assert.equal((await invoiceOf(c, 0, c.staff.auth)).statusCode, 200);
    assert.equal((await invoiceOf(c, 0, c.admin.auth)).statusCode, 200);
    assert.equal((await invoiceOf(c, 0, c.doctor.auth)).statusCode, 404);

    const list = async (auth: { authorization: string } | undefined, query = '') => {
      const res = await app().inject({ method: 'GET', url: `/v1/invoices${query}`, headers: auth });
      return res;
    };
    const ids = (res: { json(): unknown }) =>
      (res.json() as { items: { appointmentId: string }[] }).items.map((i) => i.appointmentId);
    assert.deepEqual(ids(await list(mine.auth)), [c.queues[0].visits[0].appointmentId]);
    assert.deepEqual(ids(await list(theirs.patient?.auth)), [theirs.appointmentId]);
    const staffSees = ids(await list(c.staff.auth));
    assert.deepEqual(staffSees.sort(), c.queues[0].visits.map((v) => v.appointmentId).sort());
    assert.deepEqual(ids(await list(c.otherStaff.auth)), [c.otherQueue.visits[0].appointmentId]);
    const adminSees = ids(await list(c.admin.auth, `?hospitalId=${c.otherHospitalId}`));
    assert.deepEqual(adminSees, [c.otherQueue.visits[0].appointmentId]);
    const foreign = await list(c.staff.auth, `?hospitalId=${c.otherHospitalId}`);
    assert.equal(foreign.statusCode, 403, "naming another hospital's invoices");
    assert.equal(foreign.json().code, 'FORBIDDEN');
    const doctor = await list(c.doctor.auth);
    assert.equal(doctor.statusCode, 403);
    assert.equal(doctor.json().code, 'FORBIDDEN');
    assert.equal((await list(undefined)).statusCode, 401);

    const paged = await list(c.staff.auth, '?limit=1');
    const next = (paged.json() as { nextCursor: string }).nextCursor;
    assert.ok(next);
    const second = await list(c.staff.auth, `?limit=1&cursor=${next}`);
    assert.equal(ids(second).length, 1);
    assert.notDeepEqual(ids(second), ids(paged));
  });

  test('list filters by status and issue date; bad filters answer 400 in the error shape', async () => {
    const c = await billingClinic(app(), { patients: 1 });
    await completeFirst(app(), c.staff, c.queues[0].queueId, 1);
    const get = (query: string) =>
      app().inject({ method: 'GET', url: `/v1/invoices?${query}`, headers: c.staff.auth });
    const count = async (query: string) => ((await get(query)).json() as { items: unknown[] }).items.length;
    assert.equal(await count(`status=pending&from=${c.date}&to=${c.date}`), 1);
    assert.equal(await count('status=paid'), 0);
    const tomorrow = DateTime.fromISO(c.date).plus({ days: 1 }).toISODate();
    assert.equal(await count(`from=${tomorrow}`), 0);
    for (const query of [
      `from=${tomorrow}&to=${c.date}`,
      'from=2026-13-40',
      'status=owed',
      'cursor=zzz',
      'x=1',
    ]) {
      const res = await get(query);
      assert.equal(res.statusCode, 400, query);
      const body = res.json();
      assert.equal(body.code, 'VALIDATION_FAILED', query);
      assert.equal(body.statusCode, 400);
      assert.equal(typeof body.message, 'string');
    }
  });

  test('staff record a payment once; refused payments change nothing', async () => {
    const c = await billingClinic(app(), { patients: 1 });
    await completeFirst(app(), c.staff, c.queues[0].queueId, 1);
    const invoice = (await invoiceOf(c)).json() as InvoiceBody;
    const pay = (auth: { authorization: string } | undefined, payload: unknown) =>
      app().inject({
        method: 'POST',
        url: `/v1/invoices/${invoice.id}/pay`,
        headers: auth,
        payload: payload as object,
      });

    const refusals: [typeof c.staff.auth | undefined, unknown, number, string][] = [
      [c.queues[0].visits[0].patient?.auth, { method: 'cash' }, 403, 'FORBIDDEN'],
      [c.otherStaff.auth, { method: 'cash' }, 404, 'NOT_FOUND'],
      [c.staff.auth, { method: 'cheque' }, 400, 'VALIDATION_FAILED'],
      [c.staff.auth, { method: 'card', reference: '' }, 400, 'VALIDATION_FAILED'],
      [c.staff.auth, { method: 'card', extra: 1 }, 400, 'VALIDATION_FAILED'],
      [c.staff.auth, {}, 400, 'VALIDATION_FAILED'],
    ];
    for (const [auth, body, status, code] of refusals) {
      const res = await pay(auth, body);
      assert.equal(res.statusCode, status, JSON.stringify(body));
      assert.equal(res.json().code, code);
    }
    assert.equal(((await invoiceOf(c)).json() as InvoiceBody).status, 'pending', 'refusals changed nothing');

    const paid = await pay(c.staff.auth, { method: 'card', reference: 'POS-7781' });
    assert.equal(paid.statusCode, 200, paid.body);
    const body = paid.json() as InvoiceBody;
    assert.equal(body.status, 'paid');
    assert.deepEqual(
      body.payments.map((p) => [p.kind, p.method, p.amount, p.reference]),
      [['payment', 'card', 500, 'POS-7781']],
    );
    const again = await pay(c.staff.auth, { method: 'cash' });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'INVALID_TRANSITION');
    const audit = await app()
      .db.selectFrom('auditLog')
      .select(['action', 'actorId'])
      .where('targetId', '=', invoice.id)
      .execute();
    assert.deepEqual(audit, [{ action: 'invoice.pay', actorId: c.staff.id }]);
  });

  test('voiding needs a reason, and for a paid invoice a refund record; each void is audited', async () => {
    const c = await billingClinic(app(), { patients: 2 });
    await completeFirst(app(), c.staff, c.queues[0].queueId, 2);
    const [pendingOne, paidOne] = await Promise.all(
      [0, 1].map(async (i) => ((await invoiceOf(c, i)).json() as InvoiceBody).id),
    );
    const voidIt = (id: string, payload: object, auth = c.staff.auth) =>
      app().inject({ method: 'POST', url: `/v1/invoices/${id}/void`, headers: auth, payload });

    for (const body of [{}, { reason: '' }, { reason: '   ' }]) {
      const res = await voidIt(pendingOne, body);
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().code, 'VALIDATION_FAILED');
    }
    const withRefund = await voidIt(pendingOne, { reason: 'Duplicate', refund: { method: 'cash' } });
    assert.equal(withRefund.statusCode, 400, 'nothing to refund on a pending invoice');
    assert.equal((await voidIt(pendingOne, { reason: 'x' }, c.otherStaff.auth)).statusCode, 404);
    const voided = await voidIt(pendingOne, { reason: 'Seen free of charge' });
    assert.equal(voided.statusCode, 200, voided.body);
    assert.equal((voided.json() as InvoiceBody).status, 'void');
    const twice = await voidIt(pendingOne, { reason: 'again' });
    assert.equal(twice.statusCode, 409);
    assert.equal(twice.json().code, 'INVALID_TRANSITION');
    const payVoid = await app().inject({
      method: 'POST',
      url: `/v1/invoices/${pendingOne}/pay`,
      headers: c.staff.auth,
      payload: { method: 'cash' },
    });
    assert.equal(payVoid.statusCode, 409, 'a void invoice is not paid');

    await app().inject({
      method: 'POST',
      url: `/v1/invoices/${paidOne}/pay`,
      headers: c.staff.auth,
      payload: { method: 'mobile_wallet', reference: 'BK-1' },
    });
    const noRefund = await voidIt(paidOne, { reason: 'Charged twice' });
    assert.equal(noRefund.statusCode, 400);
    assert.equal(noRefund.json().code, 'VALIDATION_FAILED');
    assert.equal(
      ((await invoiceOf(c, 1)).json() as InvoiceBody).status,
      'paid',
      'refused void changed nothing',
    );
    const refunded = await voidIt(paidOne, {
      reason: 'Charged twice',
      refund: { method: 'mobile_wallet', reference: 'BK-R1' },
    });
    assert.equal(refunded.statusCode, 200, refunded.body);
    const body = refunded.json() as InvoiceBody;
    assert.equal(body.status, 'void');
    assert.deepEqual(
      body.payments.map((p) => [p.kind, p.method, p.amount]),
      [
        ['payment', 'mobile_wallet', 500],
        ['refund', 'mobile_wallet', 500],
      ],
    );
    const audit = await app()
      .db.selectFrom('auditLog')
      .select('action')
      .where('targetId', 'in', [pendingOne, paidOne])
      .orderBy('id')
      .execute();
    assert.deepEqual(
      audit.map((a) => a.action),
      ['invoice.void', 'invoice.pay', 'invoice.void'],
    );
  });

  test('a hospital created without a code gets one from its name; a taken code is refused', async () => {
    const admin = await makeUser(app(), 'admin');
    const create = (payload: object) =>
      app().inject({ method: 'POST', url: '/v1/hospitals', headers: admin.auth, payload });
    const name = `Zebra Yak Hospital ${Date.now()}`;
    const first = await create({ name, city: 'Dhaka', timezone: 'Asia/Dhaka' });
    assert.equal(first.statusCode, 201, first.body);
    assert.match(first.json().code, /^ZYH\d*$/);
    assert.equal(first.json().currency, 'BDT');
    const taken = await create({
      name: 'Other',
      city: 'Dhaka',
      timezone: 'Asia/Dhaka',
      code: first.json().code,
    });
    assert.equal(taken.statusCode, 409);
    for (const payload of [
      { name: 'X', city: 'Dhaka', timezone: 'Asia/Dhaka', currency: 'XYZ' },
      { name: 'X', city: 'Dhaka', timezone: 'Asia/Dhaka', currency: 'usd' },
      { name: 'X', city: 'Dhaka', timezone: 'Asia/Dhaka', code: 'a-b' },
    ]) {
      const res = await create(payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().code, 'VALIDATION_FAILED');
    }
  });
});
