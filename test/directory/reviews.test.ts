import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser } from '../helpers/users.js';
import { insertAppointment, makeDoctor } from './fixtures.js';

for (const backend of await databaseBackends()) {
  describe(`reviews [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('only the booking account reviews a completed visit, once; shown as first name and initial', async () => {
      const { app } = shared.current;
      const doctor = await makeDoctor(app, 'Reviewed Doctor');
      const karim = await makeUser(app, 'patient', { name: 'Karim Hossain' });
      const stranger = await makeUser(app, 'patient');
      const done = await insertAppointment(app, { doctorId: doctor.doctorId, patient: karim });
      const pending = await insertAppointment(app, {
        doctorId: doctor.doctorId,
        patient: karim,
        status: 'booked',
      });
      const review = (id: string, headers: Record<string, string>, payload: Record<string, unknown>) =>
        app.inject({ method: 'POST', url: `/v1/appointments/${id}/review`, headers, payload });

      assert.equal((await review(pending, karim.auth, { rating: 5 })).statusCode, 409, 'not completed yet');
      assert.equal(
        (await review(done, stranger.auth, { rating: 1 })).statusCode,
        404,
        "someone else's visit",
      );
      assert.equal((await review(done, doctor.auth, { rating: 5 })).statusCode, 403, 'doctors do not review');
      assert.equal((await review(done, karim.auth, { rating: 6 })).statusCode, 400);
      assert.equal((await review(done, karim.auth, { rating: 0 })).statusCode, 400);
      assert.equal(
        (await review(done, karim.auth, { rating: 4, comment: 'x'.repeat(2001) })).statusCode,
        400,
      );
      assert.equal(
        (await review('00000000-0000-4000-8000-000000000000', karim.auth, { rating: 4 })).statusCode,
        404,
      );

      const created = await review(done, karim.auth, { rating: 4, comment: 'Kind and thorough' });
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().reviewer, 'Karim H.');
      assert.equal((await review(done, karim.auth, { rating: 1 })).statusCode, 409, 'one review per visit');

      const list = await app.inject({ url: `/v1/doctors/${doctor.doctorId}/reviews` });
      assert.equal(list.statusCode, 200);
      const [item] = list.json().items;
      assert.equal(item.reviewer, 'Karim H.');
      assert.equal(item.comment, 'Kind and thorough');
      assert.ok(!JSON.stringify(list.json()).includes('Hossain'), 'no full name in public');
      assert.equal(item.appointmentId, undefined, 'the public does not see appointment ids');
      const profile = (await app.inject({ url: `/v1/doctors/${doctor.doctorId}` })).json();
      assert.equal(profile.rating, 4);
      assert.equal(profile.ratingCount, 1);
      assert.equal(profile.visitCount, 1);
    });

    test("a dependent's visit is reviewed by the account holding the profile", async () => {
      const { app } = shared.current;
      const doctor = await makeDoctor(app, 'Family Doctor');
      const parent = await makeUser(app, 'patient', { name: 'Nadia' });
      const child = await app.accounts.profiles.addDependent(parent.id, { name: 'Rafi', relation: 'child' });
      const id = await insertAppointment(app, {
        doctorId: doctor.doctorId,
        patient: { ...parent, profileId: child.id },
      });
      await app.db.updateTable('appointments').set({ bookedBy: null }).where('id', '=', id).execute();
      const res = await app.inject({
        method: 'POST',
        url: `/v1/appointments/${id}/review`,
        headers: parent.auth,
        payload: { rating: 5 },
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().reviewer, 'Nadia');
    });

    test('admins hide abusive reviews: gone from the public list and the rating; the doctor still sees them', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const doctor = await makeDoctor(app, 'Hidden Reviews Doctor');
      const other = await makeDoctor(app, 'Nosy Doctor');
      const patient = await makeUser(app, 'patient', { name: 'Sadia Akter Rimi' });
      const a1 = await insertAppointment(app, { doctorId: doctor.doctorId, patient });
      const a2 = await insertAppointment(app, { doctorId: doctor.doctorId, patient });
      const good = await app.inject({
        method: 'POST',
        url: `/v1/appointments/${a1}/review`,
        headers: patient.auth,
        payload: { rating: 5, comment: 'Great' },
      });
      const abusive = await app.inject({
        method: 'POST',
        url: `/v1/appointments/${a2}/review`,
        headers: patient.auth,
        payload: { rating: 1, comment: 'abusive words' },
      });
      assert.equal(abusive.json().reviewer, 'Sadia R.');
      assert.equal((await app.inject({ url: `/v1/doctors/${doctor.doctorId}` })).json().rating, 3);

      const byDoctor = await app.inject({
        method: 'PATCH',
        url: `/v1/reviews/${abusive.json().id}`,
        headers: doctor.auth,
        payload: { hidden: true },
      });
      assert.equal(byDoctor.statusCode, 403, 'only admins hide');
      for (let i = 0; i < 2; i++) {
        const hide = await app.inject({
          method: 'PATCH',
          url: `/v1/reviews/${abusive.json().id}`,
          headers: admin.auth,
          payload: { hidden: true },
        });
        assert.equal(hide.statusCode, 200);
        assert.equal(hide.json().hidden, true);
      }
      const profile = (await app.inject({ url: `/v1/doctors/${doctor.doctorId}` })).json();
      assert.equal(profile.rating, 5, 'hiding twice moves the aggregate once');
      assert.equal(profile.ratingCount, 1);
      const publicList = (await app.inject({ url: `/v1/doctors/${doctor.doctorId}/reviews` })).json();
      assert.deepEqual(
        publicList.items.map((r: { id: string }) => r.id),
        [good.json().id],
      );
      const url = `/v1/doctors/${doctor.doctorId}/reviews?includeHidden=true`;
      assert.equal((await app.inject({ url })).statusCode, 403);
      assert.equal((await app.inject({ url, headers: other.auth })).statusCode, 403);
      const own = (await app.inject({ url, headers: doctor.auth })).json();
      assert.equal(own.items.length, 2);
      assert.ok(own.items.some((r: { hidden: boolean }) => r.hidden));
      assert.equal((await app.inject({ url, headers: admin.auth })).json().items.length, 2);

      const show = await app.inject({
        method: 'PATCH',
        url: `/v1/reviews/${abusive.json().id}`,
        headers: admin.auth,
        payload: { hidden: false },
      });
      assert.equal(show.json().hidden, false);
      assert.equal((await app.inject({ url: `/v1/doctors/${doctor.doctorId}` })).json().ratingCount, 2);
    });

    test('twenty concurrent reviews keep the rating sum and count exact; review pages are stable', async () => {
      const { app } = shared.current;
      const doctor = await makeDoctor(app, 'Popular Reviewed Doctor');
      const patient = await makeUser(app, 'patient');
      const appointments: string[] = [];
      for (let i = 0; i < 20; i++)
        appointments.push(await insertAppointment(app, { doctorId: doctor.doctorId, patient }));
      const ratings = appointments.map((_, i) => (i % 5) + 1);
      const results = await Promise.all(
        appointments.map((id, i) =>
          app.inject({
            method: 'POST',
            url: `/v1/appointments/${id}/review`,
            headers: patient.auth,
            payload: { rating: ratings[i] },
          }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.statusCode),
        appointments.map(() => 201),
      );
      // And the same visit reviewed twice at once: exactly one wins.
      const twice = await Promise.all(
        [1, 2, 3].map(() =>
          app.inject({
            method: 'POST',
            url: `/v1/appointments/${appointments[0]}/review`,
            headers: patient.auth,
            payload: { rating: 5 },
          }),
        ),
      );
      assert.ok(twice.every((r) => r.statusCode === 409));
      const row = await app.db
        .selectFrom('doctors')
        .select(['ratingSum', 'ratingCount'])
        .where('id', '=', doctor.doctorId)
        .executeTakeFirstOrThrow();
      assert.equal(row.ratingCount, 20);
      assert.equal(
        row.ratingSum,
        ratings.reduce((a, b) => a + b, 0),
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/v1/doctors/${doctor.doctorId}/reviews?limit=6${cursor ? `&cursor=${cursor}` : ''}`;
        const page: { items: { id: string }[]; nextCursor: string | null } = (
          await app.inject({ url })
        ).json();
        seen.push(...page.items.map((r) => r.id));
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal(seen.length, 20);
      assert.equal(new Set(seen).size, 20);
    });
  });
}
