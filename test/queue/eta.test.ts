// The ETA a patient is told, replayed over a real-looking day: quick visits, a long one, a pause.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  etaAt,
  type PositionView,
  type QueueMeta,
  rollingAverage,
} from '../../src/modules/queue/queue.store.js';

const SLOT_MINUTES = 10;
const SLOT = SLOT_MINUTES * 60;
const AHEAD = 8;
const START = Date.parse('2030-01-07T03:00:00.000Z');

function metaOf(samples: number[], extra: Partial<QueueMeta> = {}): QueueMeta {
  return {
    queueId: 'q1',
    version: samples.length,
    status: 'open',
    nowServing: null,
    avgConsultSeconds: rollingAverage(samples, SLOT_MINUTES),
    consultSamples: [...samples],
    notice: null,
    pausedUntil: null,
    pausedAt: null,
    startsAt: new Date(START).toISOString(),
    slotMinutes: SLOT_MINUTES,
    doctorId: 'd1',
    hospitalId: 'h1',
    date: '2030-01-07',
    waiting: AHEAD + 1,
    outOfOrderCount: 0,
    ...extra,
  };
}

/** The patient AHEAD places back, scheduled long ago (the floor never hides the estimate). */
function viewOf(meta: QueueMeta): PositionView {
  return {
    meta,
    entry: {
      appointmentId: 'a9',
      serial: 9,
      status: 'waiting',
      stage: 'checked_in',
      priority: 0,
      positionKey: 9,
      kind: 'booked',
      label: null,
      estimatedAt: new Date(START).toISOString(),
      outOfOrderBase: 0,
      position: AHEAD,
    },
  };
}

/** Seconds from now until the ETA. */
function waitSeconds(meta: QueueMeta, now: number): number {
  const eta = etaAt(viewOf(meta), new Date(now));
  assert.ok(eta);
  return (eta.getTime() - now) / 1000;
}

// A morning: an ordinary visit, a 20-second one, a run of 1-minute visits, a 45-minute one, then normal.
const DAY = [540, 20, 60, 60, 60, 60, 60, 2700, 600, 480, 660, 60, 60, 720, 540, 2700, 600, 30, 60, 600, 540];

describe('consult estimate and ETA', () => {
  test('8 ahead stays between half and twice the slot-based wait after every visit of a day with outliers', () => {
    const samples: number[] = [];
    let now = START;
    const slotBased = AHEAD * SLOT;
    for (const [i, seconds] of DAY.entries()) {
      samples.push(seconds);
      now += seconds * 1000;
      const wait = waitSeconds(metaOf(samples), now);
      assert.ok(
        wait >= 0.5 * slotBased && wait <= 2 * slotBased,
        `after visit ${i + 1} (${seconds} s): ${AHEAD} ahead · ${Math.round(wait / 60)} min, outside ${slotBased / 120}–${(2 * slotBased) / 60} min`,
      );
    }
  });

  test('the estimate is the slot length before any visit and never below half of it', () => {
    assert.equal(rollingAverage([], SLOT_MINUTES), SLOT);
    assert.equal(rollingAverage(Array(20).fill(5), SLOT_MINUTES), SLOT / 2);
    assert.equal(rollingAverage([20, 60, 60, 60, 60, 60], SLOT_MINUTES), SLOT / 2);
  });

  test('the slot prior fades as visits complete and a steady pace takes over', () => {
    const few = rollingAverage([900], SLOT_MINUTES);
    const many = rollingAverage(Array(20).fill(900), SLOT_MINUTES);
    assert.ok(few > SLOT && few < 700, `one 15-minute visit barely moves it: ${few}`);
    assert.ok(many > 850 && many <= 900, `twenty 15-minute visits set it: ${many}`);
  });

  test('one 45-minute visit among ordinary ones moves the estimate little', () => {
    const ordinary = [540, 600, 660, 600, 540, 600, 660, 600];
    const before = rollingAverage(ordinary, SLOT_MINUTES);
    const after = rollingAverage([...ordinary, 2700], SLOT_MINUTES);
    assert.ok(Math.abs(after - before) <= 0.1 * before, `${before} → ${after}`);
  });

  test('a pause with no end pushes every ETA by the time paused so far, and stops when resumed', () => {
    const samples = DAY.slice(0, 10);
    const pausedAt = START + 3 * 3600_000;
    const open = waitSeconds(metaOf(samples), pausedAt);
    const paused = (minutes: number) =>
      waitSeconds(
        metaOf(samples, { status: 'paused', pausedAt: new Date(pausedAt).toISOString() }),
        pausedAt + minutes * 60_000,
      );
    assert.equal(paused(0), open);
    assert.equal(paused(20), open + 20 * 60);
    assert.equal(paused(45), open + 45 * 60);
    const resumed = metaOf(samples, { status: 'open', pausedAt: new Date(pausedAt).toISOString() });
    assert.equal(waitSeconds(resumed, pausedAt + 45 * 60_000), open, 'an open queue ignores a stale pause');
  });

  test('a pause with an end starts ETAs there, and an overrun counts as paused time', () => {
    const samples = DAY.slice(0, 10);
    const pausedAt = START + 3 * 3600_000;
    const until = pausedAt + 30 * 60_000;
    const meta = metaOf(samples, {
      status: 'paused',
      pausedAt: new Date(pausedAt).toISOString(),
      pausedUntil: new Date(until).toISOString(),
    });
    const perPlace = meta.avgConsultSeconds;
    const now = pausedAt + 5 * 60_000;
    assert.equal(etaAt(viewOf(meta), new Date(now))?.getTime(), until + AHEAD * perPlace * 1000);
    assert.equal(waitSeconds(meta, until + 10 * 60_000), 10 * 60 + AHEAD * perPlace);
  });
});
