// Unit tests of the pure rules of a session day (src/modules/day/day.rules.ts) and of booking's date rules
// (bookingRefusal in src/modules/schedule/schedule.rules.ts): no database, no HTTP.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../src/errors.js';
import {
  APPOINTMENT_STATUSES,
  type AppointmentStatus,
} from '../../src/modules/appointments/appointments.table.js';
import {
  assertEntryTransition,
  assertQueueTransition,
  CANCELLABLE,
  dayClosedReason,
  ENTRY_TRANSITIONS,
  liveEstimate,
  PASS_OVER_GRACE_MINUTES,
  passOverBefore,
  stageOf,
  WAITING,
} from '../../src/modules/day/day.rules.js';
import type { QueueStatus } from '../../src/modules/queue/queue.table.js';
import { bookingRefusal, type SessionRules } from '../../src/modules/schedule/schedule.rules.js';

const ZONE = 'Asia/Dhaka'; // UTC+6, no DST: local midnight is 18:00 UTC the day before

/** The state machine as the product describes it, written out independently of the code's table. */
const ALLOWED: Record<keyof typeof ENTRY_TRANSITIONS, AppointmentStatus[]> = {
  'check-in': ['booked', 'confirmed'],
  call: ['booked', 'confirmed', 'checked_in', 'skipped'],
  complete: ['called'],
  skip: ['called'],
  'no-show': ['booked', 'confirmed', 'checked_in', 'called', 'skipped'],
  recall: ['skipped'],
  confirm: ['booked'],
  cancel: ['booked', 'confirmed', 'checked_in'],
};

function refusal(fn: () => void): AppError | null {
  try {
    fn();
    return null;
  } catch (err) {
    assert.ok(err instanceof AppError, `an AppError, got ${err}`);
    return err;
  }
}

describe('entry transitions', () => {
  test('the table covers every action, and the waiting and cancellable sets are the three waiting stages', () => {
    assert.deepEqual(Object.keys(ENTRY_TRANSITIONS).sort(), Object.keys(ALLOWED).sort());
    assert.deepEqual([...WAITING], ['booked', 'confirmed', 'checked_in']);
    assert.deepEqual([...CANCELLABLE], ['booked', 'confirmed', 'checked_in']);
  });

  for (const [action, allowed] of Object.entries(ALLOWED) as [keyof typeof ALLOWED, AppointmentStatus[]][]) {
    test(`${action}: allowed exactly from ${allowed.join(', ')}; refused from every other status`, () => {
      for (const from of APPOINTMENT_STATUSES) {
        const err = refusal(() => assertEntryTransition(action, from));
        if (allowed.includes(from)) {
          assert.equal(err, null, `${action} from ${from} should pass`);
          continue;
        }
        assert.ok(err, `${action} from ${from} should be refused`);
        assert.equal(err.code, 'INVALID_TRANSITION');
        assert.equal(err.statusCode, 409);
        assert.deepEqual(err.details, { from });
        assert.match(
          err.message,
          new RegExp(`^Cannot ${ENTRY_TRANSITIONS[action].verb} an entry that is ${from}$`),
        );
      }
    });
  }

  test('no action starts from a finished visit (completed, cancelled)', () => {
    for (const action of Object.keys(ALLOWED) as (keyof typeof ALLOWED)[])
      for (const from of ['completed', 'cancelled'] as const)
        assert.equal(refusal(() => assertEntryTransition(action, from))?.code, 'INVALID_TRANSITION');
  });

  test('pause only from open, resume only from paused', () => {
    const statuses: QueueStatus[] = ['open', 'paused', 'closed', 'cancelled'];
    for (const from of statuses) {
      assert.equal(
        refusal(() => assertQueueTransition('pause', from))?.code,
        from === 'open' ? undefined : 'INVALID_TRANSITION',
      );
      assert.equal(
        refusal(() => assertQueueTransition('resume', from))?.code,
        from === 'paused' ? undefined : 'INVALID_TRANSITION',
      );
    }
  });
});

describe('dayClosedReason', () => {
  const day = (status: QueueStatus, date = '2026-03-10') => ({ status, date, timezone: ZONE });
  const at = (iso: string) => new Date(iso);
  const NOON = at('2026-03-10T06:00:00Z'); // 12:00 in Dhaka on the day

  test('an open day on its own local date takes every operation, calls included', () => {
    assert.equal(dayClosedReason(day('open'), NOON, false), null);
    assert.equal(dayClosedReason(day('open'), NOON, true), null);
  });

  test('closed and cancelled days take nothing, whatever the date', () => {
    for (const status of ['closed', 'cancelled'] as const)
      for (const calling of [false, true]) {
        const err = dayClosedReason(day(status), NOON, calling);
        assert.equal(err?.code, 'QUEUE_NOT_OPEN');
        assert.equal(err?.statusCode, 409);
        assert.match(err?.message ?? '', new RegExp(status));
      }
  });

  test('the local date decides, not the UTC one: 00:30 in Dhaka is still the previous day in UTC', () => {
    // 2026-03-09T18:30Z is 2026-03-10 00:30 in Dhaka: the day is today there.
    assert.equal(dayClosedReason(day('open'), at('2026-03-09T18:30:00Z'), true), null);
    // 2026-03-09T17:59Z is 2026-03-09 23:59 in Dhaka: the day has not begun.
    const before = dayClosedReason(day('open'), at('2026-03-09T17:59:00Z'), false);
    assert.equal(before?.code, 'QUEUE_NOT_OPEN');
    assert.deepEqual(before?.details, { date: '2026-03-10' });
    assert.match(before?.message ?? '', /opens on 2026-03-10/);
    // 2026-03-10T17:59Z is 23:59 on the day; 18:00Z is the next local day although UTC still says the 10th.
    assert.equal(dayClosedReason(day('open'), at('2026-03-10T17:59:00Z'), false), null);
    const after = dayClosedReason(day('open'), at('2026-03-10T18:00:00Z'), false);
    assert.equal(after?.code, 'QUEUE_NOT_OPEN');
    assert.deepEqual(after?.details, { date: '2026-03-10' });
    assert.match(after?.message ?? '', /was for 2026-03-10/);
  });

  test('a day before or after its date is refused even when paused, and even for non-calling operations', () => {
    assert.equal(dayClosedReason(day('paused'), at('2026-03-08T06:00:00Z'), false)?.code, 'QUEUE_NOT_OPEN');
    assert.equal(dayClosedReason(day('paused'), at('2026-03-12T06:00:00Z'), false)?.code, 'QUEUE_NOT_OPEN');
  });

  test('a paused day takes everything but calls', () => {
    assert.equal(dayClosedReason(day('paused'), NOON, false), null);
    const err = dayClosedReason(day('paused'), NOON, true);
    assert.equal(err?.code, 'QUEUE_NOT_OPEN');
    assert.deepEqual(err?.details, { status: 'paused' });
    // The boundary applies to a paused day too: at 00:30 local it is paused, not "before the day".
    assert.deepEqual(dayClosedReason(day('paused'), at('2026-03-09T18:30:00Z'), true)?.details, {
      status: 'paused',
    });
  });
});

describe('stageOf and passOverBefore', () => {
  const t = new Date('2026-03-10T04:00:00Z');
  test('checked in wins over confirmed, confirmed over booked', () => {
    assert.equal(stageOf({ checkedInAt: null, confirmedAt: null }), 'booked');
    assert.equal(stageOf({ checkedInAt: null, confirmedAt: t }), 'confirmed');
    assert.equal(stageOf({ checkedInAt: t, confirmedAt: null }), 'checked_in');
    assert.equal(stageOf({ checkedInAt: t, confirmedAt: t }), 'checked_in');
  });

  test('an absent patient is passed over once their time plus the 10 minute grace has gone', () => {
    assert.equal(PASS_OVER_GRACE_MINUTES, 10);
    assert.equal(passOverBefore(t).toISOString(), '2026-03-10T03:50:00.000Z');
    assert.equal(t.toISOString(), '2026-03-10T04:00:00.000Z', 'the input is not changed');
  });
});

describe('liveEstimate', () => {
  const now = new Date('2026-03-10T04:00:00Z');
  const min = (m: number) => new Date(now.getTime() + m * 60_000).toISOString();
  type Meta = NonNullable<Parameters<typeof liveEstimate>[0]['meta']>;
  const open: Meta = { status: 'open', pausedUntil: null, pausedAt: null, avgConsultSeconds: 300 };
  const estimate = (over: Partial<Parameters<typeof liveEstimate>[0]>, meta: Partial<Meta> | null = {}) =>
    liveEstimate({
      now,
      slotAt: now,
      ahead: 0,
      ...over,
      meta: meta === null ? null : { ...open, ...meta },
    }).toISOString();

  test('everyone ahead times the average consult, from now', () => {
    assert.equal(estimate({ ahead: 3 }), min(15));
    assert.equal(estimate({ ahead: 3 }, { avgConsultSeconds: 600 }), min(30));
    assert.equal(estimate({ ahead: 0 }), min(0));
  });

  test('never before now: a slot long past (the queue running late) is told from now', () => {
    assert.equal(estimate({ slotAt: new Date(min(-120)), ahead: 0 }), min(0));
    assert.equal(estimate({ slotAt: new Date(min(-120)), ahead: 4 }, { avgConsultSeconds: 600 }), min(40));
  });

  test('never before the slot: a short line does not bring a later slot forward', () => {
    assert.equal(estimate({ slotAt: new Date(min(90)), ahead: 2 }), min(90));
    assert.equal(estimate({ slotAt: new Date(min(9)), ahead: 2 }), min(10));
  });

  test('a pause with an announced end counts from that end', () => {
    assert.equal(
      estimate({ ahead: 2 }, { status: 'paused', pausedUntil: min(30), pausedAt: min(-5) }),
      min(40),
    );
    assert.equal(
      estimate({ ahead: 1, slotAt: new Date(min(60)) }, { status: 'paused', pausedUntil: min(30) }),
      min(60),
    );
  });

  test('a pause of unknown length, or past its announced end, is expected to last as long again', () => {
    // Paused 20 minutes ago with no end given: about 20 more minutes.
    assert.equal(estimate({ ahead: 2 }, { status: 'paused', pausedAt: min(-20) }), min(30));
    // Announced to end 15 minutes ago and still paused: about 15 more minutes from now.
    assert.equal(
      estimate({ ahead: 2 }, { status: 'paused', pausedUntil: min(-15), pausedAt: min(-40) }),
      min(25),
    );
    // Nothing known about the pause: from now.
    assert.equal(estimate({ ahead: 2 }, { status: 'paused' }), min(10));
  });

  test('a pause that has ended (the queue open again) changes nothing', () => {
    assert.equal(
      estimate({ ahead: 2 }, { status: 'open', pausedUntil: min(30), pausedAt: min(-5) }),
      min(10),
    );
  });

  test('with no projection, or no count ahead, the later of now, the pause end and the slot', () => {
    assert.equal(estimate({ ahead: 5, slotAt: new Date(min(20)) }, null), min(20));
    assert.equal(estimate({ ahead: 5, slotAt: new Date(min(-20)) }, null), min(0));
    assert.equal(estimate({ ahead: null, slotAt: new Date(min(20)) }), min(20));
    assert.equal(estimate({ ahead: null }, { status: 'paused', pausedUntil: min(25) }), min(25));
  });
});

describe('bookingRefusal', () => {
  // 2026-03-10 is a Tuesday (ISO weekday 2); the session runs 09:00–13:00 Dhaka time.
  const TUESDAY = '2026-03-10';
  const rules: SessionRules = {
    weekday: 2,
    startTime: '09:00',
    endTime: '13:00',
    timezone: ZONE,
    validFrom: null,
    validTo: null,
    bookingOpensDays: 7,
    bookingClosesMinutes: 30,
    confirmedAt: new Date('2026-01-01T00:00:00Z'),
    doctorVerifiedAt: new Date('2026-01-01T00:00:00Z'),
  };
  const thursday = new Date('2026-03-05T04:00:00Z'); // Thursday 10:00 in Dhaka
  const refuse = (
    over: Partial<SessionRules>,
    date = TUESDAY,
    now = thursday,
    onTimeOff = false,
    day?: { startsAt: Date; status: string },
  ) => bookingRefusal({ ...rules, ...over }, date, now, onTimeOff, day);

  test('a session day within the booking window is bookable', () => {
    assert.equal(refuse({}), null);
  });

  test('an unverified doctor, then an unconfirmed sitting, are refused before any date rule', () => {
    assert.equal(refuse({ doctorVerifiedAt: null }), 'doctor_unverified');
    assert.equal(
      refuse({ doctorVerifiedAt: null, confirmedAt: null }, '2020-01-07', thursday, true),
      'doctor_unverified',
    );
    assert.equal(refuse({ confirmedAt: null }), 'session_pending');
    assert.equal(refuse({ confirmedAt: null }, '2020-01-07', thursday, true), 'session_pending');
  });

  test('past dates, by the hospital zone: at 00:30 local the UTC "today" is already past', () => {
    assert.equal(refuse({}, '2026-03-03'), 'past');
    const justAfterLocalMidnight = new Date('2026-03-09T18:30:00Z'); // 2026-03-10 00:30 in Dhaka
    assert.equal(refuse({ weekday: 1 }, '2026-03-09', justAfterLocalMidnight), 'past');
    assert.equal(refuse({}, TUESDAY, justAfterLocalMidnight), null);
  });

  test('a date on another weekday, or outside the validity range', () => {
    assert.equal(refuse({}, '2026-03-11'), 'not_session_day');
    assert.equal(refuse({ validFrom: '2026-03-11' }), 'outside_validity');
    assert.equal(refuse({ validTo: '2026-03-09' }), 'outside_validity');
    assert.equal(refuse({ validFrom: TUESDAY, validTo: TUESDAY }), null);
  });

  test('time off comes before the booking window', () => {
    assert.equal(refuse({}, TUESDAY, thursday, true), 'time_off');
    assert.equal(refuse({ bookingOpensDays: 1 }, TUESDAY, thursday, true), 'time_off');
  });

  test('booking opens bookingOpensDays ahead, counted in local dates', () => {
    assert.equal(refuse({ bookingOpensDays: 5 }), null);
    assert.equal(refuse({ bookingOpensDays: 4 }), 'not_open_yet');
    assert.equal(refuse({}, '2026-03-17'), 'not_open_yet');
  });

  test('booking closes bookingClosesMinutes before the start, to the second', () => {
    assert.equal(refuse({}, TUESDAY, new Date('2026-03-10T02:29:59Z')), null); // 08:29:59 local
    assert.equal(refuse({}, TUESDAY, new Date('2026-03-10T02:30:00Z')), 'booking_closed');
    assert.equal(refuse({ bookingClosesMinutes: 0 }, TUESDAY, new Date('2026-03-10T02:59:59Z')), null);
    assert.equal(
      refuse({ bookingClosesMinutes: 0 }, TUESDAY, new Date('2026-03-10T03:00:00Z')),
      'booking_closed',
    );
  });

  test("an existing day's own start time is used, and a closed or cancelled day is refused", () => {
    const early = { startsAt: new Date('2026-03-10T01:00:00Z'), status: 'open' }; // moved to 07:00 local
    assert.equal(refuse({}, TUESDAY, new Date('2026-03-10T00:45:00Z'), false, early), 'booking_closed');
    assert.equal(refuse({}, TUESDAY, new Date('2026-03-10T00:29:00Z'), false, early), null);
    const startsAt = new Date('2026-03-10T03:00:00Z');
    assert.equal(refuse({}, TUESDAY, thursday, false, { startsAt, status: 'open' }), null);
    assert.equal(refuse({}, TUESDAY, thursday, false, { startsAt, status: 'paused' }), null);
    assert.equal(refuse({}, TUESDAY, thursday, false, { startsAt, status: 'closed' }), 'queue_closed');
    assert.equal(refuse({}, TUESDAY, thursday, false, { startsAt, status: 'cancelled' }), 'queue_closed');
  });
});
