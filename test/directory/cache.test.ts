import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryCache, RedisCache } from '../../src/plugins/cache.js';
import { buildSiblingApp, buildTestApp } from '../helpers/app.js';
import { insertCatalog, insertHospital } from '../helpers/clinic.js';
import { databaseBackends, deleteRedisPrefix, REDIS_URL, skipWithout } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { insertAppointment, makeDoctor } from './fixtures.js';

function metric(text: string, name: string, family: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{cache="${family}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const redisSkip = await skipWithout('redis');

for (const backend of await databaseBackends()) {
  for (const redis of [false, true]) {
    describe(`directory cache [${backend}, ${redis ? 'redis' : 'lru'}]`, { skip: redis && redisSkip }, () => {
      test('an edit is visible on the very next read; hits and misses are counted in /metrics', async (t) => {
        const { app, redisPrefix } = await buildTestApp(t, { backend, redis });
        assert.equal(app.cache.kind, redis ? 'redis' : 'memory');
        const admin = await makeUser(app, 'admin');
        const doctor = await makeDoctor(app, 'Cached Doctor');
        const url = `/v1/doctors/${doctor.doctorId}`;
        assert.equal((await app.inject({ url })).json().bio, '');
        assert.equal((await app.inject({ url })).json().bio, '', 'second read from the cache');
        if (redisPrefix) {
          const client = new Redis(REDIS_URL);
          t.after(() => client.disconnect());
          assert.ok(
            await client.exists(`${redisPrefix}cache:{doctor:${doctor.doctorId}}`),
            'stored in Redis',
          );
        }
        for (const bio of ['First edit', 'Second edit']) {
          const edit = await app.inject({ method: 'PATCH', url, headers: doctor.auth, payload: { bio } });
          assert.equal(edit.statusCode, 200);
          assert.equal((await app.inject({ url })).json().bio, bio);
        }
        // Other writes that change a profile: a review, a renamed specialization, verification.
        const patient = await makeUser(app, 'patient');
        const visit = await insertAppointment(app, { doctorId: doctor.doctorId, patient });
        await app.inject({
          method: 'POST',
          url: `/v1/appointments/${visit}/review`,
          headers: patient.auth,
          payload: { rating: 3 },
        });
        assert.equal((await app.inject({ url })).json().rating, 3);
        const spec = await insertCatalog(app, 'specializations', 'Cache Cardiology');
        await app.inject({
          method: 'PATCH',
          url,
          headers: doctor.auth,
          payload: { specializationIds: [spec] },
        });
        assert.equal((await app.inject({ url })).json().specializations[0].name, 'Cache Cardiology');
        await app.inject({
          method: 'PATCH',
          url: `/v1/specializations/${spec}`,
          headers: admin.auth,
          payload: { name: 'Cache Cardiology (Adult)' },
        });
        assert.equal((await app.inject({ url })).json().specializations[0].name, 'Cache Cardiology (Adult)');
        await app.inject({
          method: 'POST',
          url: `/v1/doctors/${doctor.doctorId}/verify`,
          headers: admin.auth,
          payload: { verified: false },
        });
        assert.equal((await app.inject({ url })).statusCode, 404, 'unverified at once');

        // Catalog lists and popular lists.
        await app.inject({ url: '/v1/qualifications' });
        const created = await app.inject({
          method: 'POST',
          url: '/v1/qualifications',
          headers: admin.auth,
          payload: { name: 'FRCS' },
        });
        assert.equal(created.statusCode, 201);
        const names = (await app.inject({ url: '/v1/qualifications' }))
          .json()
          .items.map((q: { name: string }) => q.name);
        assert.ok(names.includes('FRCS'));
        const other = await makeDoctor(app, 'Popular Cached Doctor');
        const popular = async () =>
          (await app.inject({ url: '/v1/doctors?sort=popular' }))
            .json()
            .items.map((d: { name: string }) => d.name);
        assert.deepEqual(await popular(), ['Popular Cached Doctor']);
        await app.inject({
          method: 'PATCH',
          url: `/v1/doctors/${other.doctorId}`,
          headers: other.auth,
          payload: { name: 'Renamed Popular' },
        });
        assert.deepEqual(await popular(), ['Renamed Popular']);

        const metrics = await app.inject({ url: '/metrics' });
        assert.ok(metric(metrics.body, 'cache_hits_total', 'doctor') >= 1, metrics.body.slice(0, 200));
        assert.ok(metric(metrics.body, 'cache_misses_total', 'doctor') >= 3);
        assert.ok(metric(metrics.body, 'cache_misses_total', 'catalog') >= 1);
      });

      test('a session added or removed through the schedule API shows on the cached profile and in search', async (t) => {
        const { app } = await buildTestApp(t, { backend, redis });
        const doctor = await makeDoctor(app, 'Sitting Doctor');
        const hospitalId = await insertHospital(app, { name: 'Cache Sylhet Hospital', city: 'Sylhet' });
        const url = `/v1/doctors/${doctor.doctorId}`;
        const inSylhet = async () =>
          (await app.inject({ url: '/v1/doctors?city=Sylhet' }))
            .json()
            .items.map((d: { id: string }) => d.id);
        assert.deepEqual((await app.inject({ url })).json().hospitals, [], 'cached with no hospitals');
        assert.deepEqual(await inSylhet(), [], 'search page cached empty');
        const created = await app.inject({
          method: 'POST',
          url: `${url}/sessions`,
          headers: doctor.auth,
          payload: { hospitalId, weekday: 2, start: '09:00', end: '12:00', slotMinutes: 15, fee: 500 },
        });
        assert.equal(created.statusCode, 201, created.body);
        const hospitals = (await app.inject({ url })).json().hospitals;
        assert.deepEqual(
          hospitals.map((h: { name: string }) => h.name),
          ['Cache Sylhet Hospital'],
        );
        assert.deepEqual(await inSylhet(), [doctor.doctorId]);
        const removed = await app.inject({
          method: 'DELETE',
          url: `/v1/sessions/${created.json().id}`,
          headers: doctor.auth,
        });
        assert.ok(removed.statusCode < 300, removed.body);
        assert.deepEqual((await app.inject({ url })).json().hospitals, []);
        assert.deepEqual(await inSylhet(), []);
      });
    });
  }
}

// Two instances share state only through Postgres and Redis, so this suite exists when both are up.
describe('directory cache across instances', { skip: await skipWithout('postgres', 'redis') }, () => {
  test('an edit on one instance is never served stale by another (shared Redis)', async (t) => {
    const first = await buildTestApp(t, { backend: 'postgres', redis: true });
    const second = await buildSiblingApp(t, first);
    const doctor = await makeDoctor(first.app, 'Shared Doctor');
    const url = `/v1/doctors/${doctor.doctorId}`;
    assert.equal((await second.inject({ url })).json().bio, '');
    const edit = await first.app.inject({
      method: 'PATCH',
      url,
      headers: doctor.auth,
      payload: { bio: 'Edited' },
    });
    assert.equal(edit.statusCode, 200);
    assert.equal((await second.inject({ url })).json().bio, 'Edited');
  });
});

describe('cache invalidation racing a load', () => {
  for (const kind of ['memory', 'redis']) {
    test(`a load that started before a del does not store its value [${kind}]`, {
      skip: kind === 'redis' && redisSkip,
    }, async (t) => {
      let cache: MemoryCache | RedisCache = new MemoryCache();
      if (kind === 'redis') {
        const client = new Redis(REDIS_URL);
        const prefix = `cqtest:${randomBytes(4).toString('hex')}:`;
        t.after(async () => {
          await deleteRedisPrefix(prefix);
          client.disconnect();
        });
        cache = new RedisCache(client, prefix);
      }
      let release: ((value: string) => void) | undefined;
      const slow = cache.wrap('doctor:1', 60, () => new Promise<string>((resolve) => (release = resolve)));
      while (!release) await new Promise((resolve) => setImmediate(resolve));
      await cache.del('doctor:1'); // the edit commits and invalidates while the old row is in flight
      release('before the edit');
      assert.equal(await slow, 'before the edit', 'the racing caller still gets what it read');
      assert.equal(await cache.get('doctor:1'), undefined, 'but it is not cached');
      assert.equal(await cache.wrap('doctor:1', 60, async () => 'after the edit'), 'after the edit');
      assert.equal(await cache.get('doctor:1'), 'after the edit', 'an undisturbed load is stored');
    });
  }
});

describe('memory cache', () => {
  test('returns copies, honours generations and deletes', async () => {
    const cache = new MemoryCache({ max: 10 });
    await cache.set('a:1', { list: [1] }, 60);
    const got = await cache.get<{ list: number[] }>('a:1');
    got?.list.push(2);
    assert.deepEqual(await cache.get('a:1'), { list: [1] });
    assert.equal(await cache.generation('g'), 0);
    await cache.bump('g');
    assert.equal(await cache.generation('g'), 1);
    await cache.del('a:1');
    assert.equal(await cache.get('a:1'), undefined);
    let loads = 0;
    const load = async () => ++loads;
    assert.equal(await cache.wrap('b:1', 60, load), 1);
    assert.equal(await cache.wrap('b:1', 60, load), 1);
    assert.equal(loads, 1);
  });

  test('shared reads return one frozen instance that cannot be changed', async () => {
    const cache = new MemoryCache({ max: 10 });
    const load = async () => ({ items: [{ name: 'A', cities: ['Dhaka'] }] });
    const first = await cache.wrapShared('page:1', 60, load);
    const second = await cache.wrapShared('page:1', 60, load);
    assert.equal(second, await cache.wrapShared('page:1', 60, load), 'no copy per read');
    assert.ok(Object.isFrozen(second.items[0].cities));
    assert.throws(() => (second.items[0].cities as string[]).push('Sylhet'), TypeError);
    assert.deepEqual(first, { items: [{ name: 'A', cities: ['Dhaka'] }] });
    const copy = await cache.get<{ items: { cities: string[] }[] }>('page:1');
    copy?.items[0].cities.push('Sylhet');
    assert.deepEqual(await cache.wrapShared('page:1', 60, load), first, 'plain reads still get copies');
  });
});
