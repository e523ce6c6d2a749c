import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { billingClinic, completeFirst } from '../billing/fixtures.js';
import { skipWithout } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';

const DAY_MS = 86_400_000;
const GOOD = { rating: 5, waitRating: 3, comment: 'Kind and thorough', wouldRecommend: true };

describe('feedback', { skip: await skipWithout('postgres') }, () => {
  const clock = new ManualClock('2026-05-04T06:00:00Z');
  const shared = sharedTestApp({ backend: 'postgres', clock });
  const app = () => shared.current.app;

  const post = (appointmentId: string, auth: { authorization: string } | undefined, payload: object) =>
    app().inject({
      method: 'POST',
      url: `/v1/appointments/${appointmentId}/feedback`,
      headers: auth,
      payload,
    });

  const storedFor = async (appointmentId: string) =>
    app().db.selectFrom('feedback').selectAll().where('appointmentId', '=', appointmentId).execute();

  /** The feedback link of a visit's feedback_request message, as a path on this server. */
  async function linkPath(appointmentId: string): Promise<string> {
    const row = await app()
      .db.selectFrom('notificationOutbox')
      .select('payload')
      .where('appointmentId', '=', appointmentId)
      .where('kind', '=', 'feedback_request')
      .executeTakeFirstOrThrow();
    const payload = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as {
      feedbackUrl: string;
    };
    const url = new URL(payload.feedbackUrl);
    assert.match(url.pathname, /^\/feedback\/[A-Za-z0-9_-]{20,}$/);
    return url.pathname.replace('/feedback/', '/v1/feedback-links/');
  }

  test('the owner gives feedback once on a completed visit; others and repeats are refused and change nothing', async () => {
    clock.set('2026-05-04T06:00:00Z');
    const c = await billingClinic(app(), { patients: 2 });
    const [first, second] = c.queues[0].visits;
    assert.ok(first.patient && second.patient);
    await completeFirst(app(), c.staff, c.queues[0].queueId, 1);

    const notCompleted = await post(second.appointmentId, second.patient.auth, GOOD);
    assert.equal(notCompleted.statusCode, 409, 'the second visit is in progress');
    assert.equal(notCompleted.json().code, 'CONFLICT');
    assert.equal(
      (await post(first.appointmentId, second.patient.auth, GOOD)).statusCode,
      404,
      "someone else's",
    );
    assert.equal((await post(first.appointmentId, c.staff.auth, GOOD)).statusCode, 403);
    assert.equal((await post(first.appointmentId, undefined, GOOD)).statusCode, 401);
    for (const bad of [
      { ...GOOD, rating: 6 },
      { ...GOOD, waitRating: 0 },
      { ...GOOD, rating: 4.5 },
      { rating: 5 },
      { ...GOOD, comment: 'x'.repeat(2001) },
      { ...GOOD, extra: true },
    ]) {
      const res = await post(first.appointmentId, first.patient.auth, bad);
      assert.equal(res.statusCode, 400, JSON.stringify(bad));
      const body = res.json();
      assert.equal(body.code, 'VALIDATION_FAILED');
      assert.equal(body.statusCode, 400);
    }
    assert.deepEqual(await storedFor(first.appointmentId), [], 'refusals stored nothing');

    const given = await post(first.appointmentId, first.patient.auth, GOOD);
    assert.equal(given.statusCode, 201, given.body);
    assert.equal(given.json().via, 'app');
    assert.equal(given.json().rating, 5);
    assert.equal(given.json().waitRating, 3);
    const again = await post(first.appointmentId, first.patient.auth, { rating: 1, waitRating: 1 });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().details.reason, 'already_given');
    assert.equal((await storedFor(first.appointmentId)).length, 1);
    const link = await app().inject({
      method: 'POST',
      url: await linkPath(first.appointmentId),
      payload: GOOD,
    });
    assert.equal(link.statusCode, 409, 'the link stops working once feedback came through the app');
  });

  test('feedback is taken for 30 days after the visit', async () => {
    clock.set('2026-05-05T06:00:00Z');
    const c = await billingClinic(app(), { patients: 1 });
    const [visit] = c.queues[0].visits;
    assert.ok(visit.patient);
    await completeFirst(app(), c.staff, c.queues[0].queueId, 1);
    const path = await linkPath(visit.appointmentId);
    clock.advance(31 * DAY_MS);
    const late = await post(visit.appointmentId, visit.patient.auth, GOOD);
    assert.equal(late.statusCode, 409);
    assert.equal(late.json().details.reason, 'window_closed');
    assert.equal((await app().inject({ method: 'GET', url: path })).statusCode, 404, 'the link expired too');
    assert.deepEqual(await storedFor(visit.appointmentId), []);
  });

  test('the feedback message’s link takes feedback once without signing in', async () => {
    clock.set('2026-05-06T06:00:00Z');
    const c = await billingClinic(app(), { patients: 0, walkIns: 1 });
    const [visit] = c.queues[0].visits;
    await completeFirst(app(), c.staff, c.queues[0].queueId, 1);
    const path = await linkPath(visit.appointmentId);
    const details = await app().inject({ method: 'GET', url: path });
    assert.equal(details.statusCode, 200, details.body);
    assert.equal(details.json().used, false);
    assert.equal(details.json().visitDate, c.date);

    const bad = await app().inject({ method: 'POST', url: path, payload: { rating: 9, waitRating: 2 } });
    assert.equal(bad.statusCode, 400);
    assert.equal(
      (await app().inject({ method: 'GET', url: path })).json().used,
      false,
      'a refusal uses nothing',
    );
    const given = await app().inject({ method: 'POST', url: path, payload: { rating: 4, waitRating: 2 } });
    assert.equal(given.statusCode, 201, given.body);
    assert.equal(given.json().via, 'link');
    assert.equal(given.json().wouldRecommend, null);
    const reused = await app().inject({ method: 'POST', url: path, payload: GOOD });
    assert.equal(reused.statusCode, 409);
    assert.equal((await app().inject({ method: 'GET', url: path })).json().used, true);
    assert.equal((await storedFor(visit.appointmentId)).length, 1);

    const stored = await app()
      .db.selectFrom('feedbackLinks')
      .select('tokenHash')
      .where('appointmentId', '=', visit.appointmentId)
      .executeTakeFirstOrThrow();
    const token = path.split('/').at(-1) as string;
    assert.notEqual(stored.tokenHash, token, 'only a hash of the token is stored');
    const unknown = await app().inject({ method: 'GET', url: `/v1/feedback-links/${'A'.repeat(43)}` });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'NOT_FOUND');
  });

  test('staff read their hospital’s feedback only, a patient their own', async () => {
    clock.set('2026-05-07T06:00:00Z');
    const c = await billingClinic(app(), { patients: 2 });
    await completeFirst(app(), c.staff, c.queues[0].queueId, 2);
    await completeFirst(app(), c.otherStaff, c.otherQueue.queueId, 1);
    const [a, b] = c.queues[0].visits;
    const [elsewhere] = c.otherQueue.visits;
    assert.ok(a.patient && b.patient && elsewhere.patient);
    for (const v of [a, b, elsewhere])
      assert.equal((await post(v.appointmentId, v.patient?.auth, GOOD)).statusCode, 201);

    const list = (auth: { authorization: string }, query = '') =>
      app().inject({ method: 'GET', url: `/v1/feedback${query}`, headers: auth });
    const ids = (res: { json(): unknown }) =>
      (res.json() as { items: { appointmentId: string }[] }).items.map((i) => i.appointmentId).sort();
    assert.deepEqual(ids(await list(c.staff.auth)), [a.appointmentId, b.appointmentId].sort());
    assert.deepEqual(ids(await list(c.otherStaff.auth)), [elsewhere.appointmentId]);
    const foreign = await list(c.staff.auth, `?hospitalId=${c.otherHospitalId}`);
    assert.equal(foreign.statusCode, 403);
    assert.equal(foreign.json().code, 'FORBIDDEN');
    assert.deepEqual(ids(await list(a.patient.auth)), [a.appointmentId]);
    assert.deepEqual(ids(await list(c.admin.auth, `?hospitalId=${c.otherHospitalId}`)), [
      elsewhere.appointmentId,
    ]);
    assert.deepEqual(ids(await list(c.staff.auth, `?from=${c.date}&to=${c.date}`)).length, 2);
    assert.equal((await list(c.doctor.auth)).statusCode, 403);
    for (const query of ['?from=2026-05-08&to=2026-05-01', '?from=yesterday', '?hospitalId=nope']) {
      const res = await list(c.staff.auth, query);
      assert.equal(res.statusCode, 400, query);
      assert.equal(res.json().code, 'VALIDATION_FAILED');
    }
  });
});
