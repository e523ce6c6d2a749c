// A past clinic day, simulated: bookings, cancellations, arrivals, walk-ins, one doctor calling in queue order
// with a realistic spread of consult times, and no-shows marked at close. It produces the rows the day ledger
// would have written for that day — appointments and queue_events with the same shapes (the ETA shown at
// check-in computed by the same rules as the live queue) — so reports over demo data read like a real clinic's.
import { randomUUID } from 'node:crypto';
import { CONSULT_SAMPLES, consultRange, rollingAverage } from '../../queue/queue.store.js';

const MINUTE = 60_000;

/** A seeded pseudo-random source (mulberry32), so the demo history is the same on every start. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulatedSitting {
  queueId: string;
  sessionId: string;
  doctorId: string;
  hospitalId: string;
  date: string;
  startsAt: Date;
  endsAt: Date;
  slotMinutes: number;
  capacity: number;
  fee: string;
  /** Who acts: the doctor's account, a desk account of the hospital, and patients' accounts with a profile. */
  doctorUserId: string | null;
  deskUserId: string | null;
  patients: { accountId: string; profileId: string }[];
}

export interface SimAppointment {
  id: string;
  queueId: string;
  doctorId: string;
  date: string;
  profileId: string | null;
  bookedBy: string | null;
  serial: number;
  kind: 'booked' | 'walk_in';
  positionKey: number;
  status: 'completed' | 'no_show' | 'cancelled';
  estimatedAt: Date;
  trackingTokenHash: string;
  walkInName: string | null;
  fee: string;
  cancelReason: string | null;
  bookedAt: Date;
  checkedInAt: Date | null;
  calledAt: Date | null;
  completedAt: Date | null;
  cancelledAt: Date | null;
  noShowAt: Date | null;
  updatedAt: Date;
}

export interface SimEvent {
  queueId: string;
  version: number;
  type: string;
  appointmentId: string | null;
  serial: number | null;
  actorId: string | null;
  reason: string | null;
  data: string | null;
  at: Date;
}

export interface SimulatedDay {
  status: 'closed';
  version: number;
  nextSerial: number;
  bookedCount: number;
  avgConsultSeconds: number;
  appointments: SimAppointment[];
  events: SimEvent[];
}

const WALK_IN_NAMES = ['Abdul Karim', 'Rina Das', 'Habib Mia', 'Shapla Khatun', 'Mizanur Rahman', 'Joya Roy'];

/** Consult minutes: log-normal around 80% of the slot, a long tail, 1.5 to 45 minutes. */
function consultMinutes(random: () => number, slot: number): number {
  const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.min(45, Math.max(1.5, 0.8 * slot * Math.exp(0.45 * normal)));
}

const between = (random: () => number, lo: number, hi: number) => lo + random() * (hi - lo);

export function simulateDay(s: SimulatedSitting, random: () => number): SimulatedDay {
  const slotMs = s.slotMinutes * MINUTE;
  const start = s.startsAt.getTime();
  const pending: Omit<SimEvent, 'version' | 'queueId'>[] = [];
  const event = (
    e: Omit<SimEvent, 'version' | 'queueId' | 'reason' | 'data'> & { reason?: string; data?: unknown },
  ) =>
    pending.push({
      ...e,
      reason: e.reason ?? null,
      data: e.data === undefined ? null : JSON.stringify(e.data),
    });

  const booked = Math.min(s.capacity, 12 + Math.floor(random() * 11));
  const people: (SimAppointment & { arrives: number | null; selfCheckIn: boolean })[] = [];
  for (let serial = 1; serial <= booked; serial++) {
    const patient = s.patients.length > 0 ? s.patients[(serial + start / MINUTE) % s.patients.length] : null;
    const scheduled = start + (serial - 1) * slotMs;
    const bookedAt = new Date(scheduled - between(random, 1, 10) * 86_400_000);
    const roll = random();
    const status = roll < 0.06 ? 'cancelled' : roll < 0.14 ? 'no_show' : 'completed';
    // Most patients check in, from 20 minutes early to 5 late; some are called straight from the booking.
    const arrives = status === 'completed' ? scheduled - between(random, -5, 20) * MINUTE : null;
    people.push({
      ...blankAppointment(s, serial, 'booked', new Date(scheduled), bookedAt),
      profileId: patient?.profileId ?? null,
      bookedBy: patient?.accountId ?? s.deskUserId,
      status,
      arrives,
      selfCheckIn: random() < 0.3,
    });
  }
  const walkIns = 1 + Math.floor(random() * 4);
  const walkInTimes = Array.from({ length: walkIns }, () => start + between(random, 0, 2 * 60) * MINUTE).sort(
    (a, b) => a - b,
  );
  for (const [i, at] of walkInTimes.entries()) {
    people.push({
      ...blankAppointment(s, booked + i + 1, 'walk_in', new Date(at), new Date(at)),
      bookedBy: s.deskUserId,
      walkInName: WALK_IN_NAMES[(i + booked) % WALK_IN_NAMES.length],
      status: 'completed',
      arrives: at,
      selfCheckIn: false,
    });
  }

  for (const p of people.filter((p) => p.kind === 'booked'))
    event({ type: 'booked', appointmentId: p.id, serial: p.serial, actorId: p.bookedBy, at: p.bookedAt });
  for (const p of people.filter((p) => p.status === 'cancelled')) {
    const byPatient = random() < 0.7;
    p.cancelledAt = new Date(
      Math.min(start - 3_600_000, p.bookedAt.getTime() + between(random, 1, 48) * 3_600_000),
    );
    p.cancelReason = byPatient ? 'Cannot make it' : 'Doctor unavailable at that time';
    event({
      type: 'cancelled',
      appointmentId: p.id,
      serial: p.serial,
      actorId: byPatient ? p.bookedBy : s.deskUserId,
      reason: p.cancelReason,
      at: p.cancelledAt,
    });
  }

  // The doctor sees present patients in queue order (serial order; walk-ins after booked serials).
  const finished: { at: number; seconds: number }[] = [];
  const consultOf = new Map<string, { at: number; seconds: number }>();
  const line = people.filter((p) => p.status === 'completed').sort((a, b) => a.serial - b.serial);
  const calledAt = new Map<string, number>();
  let doctorFree = start + between(random, 0, 10) * MINUTE;
  const queue = [...line];
  while (queue.length > 0) {
    const present = queue.find((p) => (p.arrives as number) <= doctorFree);
    const next = present ?? queue.reduce((a, b) => ((a.arrives as number) <= (b.arrives as number) ? a : b));
    const callAt = Math.max(doctorFree, next.arrives as number);
    queue.splice(queue.indexOf(next), 1);
    calledAt.set(next.id, callAt);
    const seconds = Math.round(consultMinutes(random, s.slotMinutes) * 60);
    doctorFree = callAt + seconds * 1000 + between(random, 0.3, 1.5) * MINUTE;
    const consult = { at: callAt + seconds * 1000, seconds };
    finished.push(consult);
    consultOf.set(next.id, consult);
  }

  for (const p of line) {
    const called = calledAt.get(p.id) as number;
    const checksIn = p.kind === 'walk_in' || random() < 0.85;
    const arrived = p.arrives as number;
    if (checksIn) {
      p.checkedInAt = new Date(arrived);
      // What the live queue showed at that moment: the entries ahead still in line (absent patients stay in
      // line until the day closes), and the consult estimate from the visits finished so far.
      const done = finished
        .filter((f) => f.at <= arrived)
        .map((f) => f.seconds)
        .slice(-CONSULT_SAMPLES);
      const avg = rollingAverage(done, s.slotMinutes);
      const ahead = people.filter(
        (o) =>
          o.serial < p.serial &&
          o.status !== 'cancelled' &&
          (o.status === 'no_show' || (calledAt.get(o.id) as number) > arrived),
      ).length;
      const floor = p.kind === 'walk_in' ? arrived : p.estimatedAt.getTime();
      const etaAt = new Date(Math.max(floor, arrived + ahead * avg * 1000)).toISOString();
      if (p.kind === 'walk_in') {
        event({
          type: 'walk_in',
          appointmentId: p.id,
          serial: p.serial,
          actorId: s.deskUserId,
          at: p.checkedInAt,
          data: { priority: 0, etaAt },
        });
      } else {
        const range = consultRange(done);
        const etaRange = range
          ? {
              from: new Date(Math.max(floor, arrived + ahead * range.low * 1000)).toISOString(),
              to: new Date(Math.max(floor, arrived + ahead * range.high * 1000)).toISOString(),
            }
          : null;
        event({
          type: 'checked_in',
          appointmentId: p.id,
          serial: p.serial,
          actorId: p.selfCheckIn ? p.bookedBy : s.deskUserId,
          at: p.checkedInAt,
          data: { etaAt, etaRange, position: ahead },
        });
      }
    }
    p.calledAt = new Date(called);
    event({
      type: 'called',
      appointmentId: p.id,
      serial: p.serial,
      actorId: s.doctorUserId,
      at: p.calledAt,
      data: {
        outOfOrder: false,
        scheduledAt: p.estimatedAt.toISOString(),
        waitedSeconds: p.checkedInAt ? Math.round((called - arrived) / 1000) : null,
      },
    });
    const consult = consultOf.get(p.id) as { at: number; seconds: number };
    p.completedAt = new Date(consult.at);
    event({
      type: 'completed',
      appointmentId: p.id,
      serial: p.serial,
      actorId: s.doctorUserId,
      at: p.completedAt,
      data: { consultSeconds: consult.seconds },
    });
  }

  const closeAt = new Date(Math.max(doctorFree, s.endsAt.getTime()));
  const noShows = people.filter((p) => p.status === 'no_show');
  for (const p of noShows) p.noShowAt = closeAt;
  event({
    type: 'closed',
    appointmentId: null,
    serial: null,
    actorId: s.doctorUserId,
    at: closeAt,
    data: { remaining: 'no_show', noShows: noShows.length },
  });

  pending.sort((a, b) => a.at.getTime() - b.at.getTime());
  const events = pending.map((e, i) => ({ ...e, queueId: s.queueId, version: i + 1 }));
  for (const p of people) p.updatedAt = p.completedAt ?? p.noShowAt ?? p.cancelledAt ?? p.bookedAt;
  const ordered = [...finished].sort((a, b) => a.at - b.at).map((f) => f.seconds);
  return {
    status: 'closed',
    version: events.length,
    nextSerial: people.length + 1,
    bookedCount: people.filter((p) => p.kind === 'booked' && p.status !== 'cancelled').length,
    avgConsultSeconds: rollingAverage(ordered.slice(-CONSULT_SAMPLES), s.slotMinutes),
    appointments: people.map(({ arrives: _a, selfCheckIn: _s, ...row }) => row),
    events,
  };
}

function blankAppointment(
  s: SimulatedSitting,
  serial: number,
  kind: 'booked' | 'walk_in',
  estimatedAt: Date,
  bookedAt: Date,
): SimAppointment {
  return {
    id: randomUUID(),
    queueId: s.queueId,
    doctorId: s.doctorId,
    date: s.date,
    profileId: null,
    bookedBy: null,
    serial,
    kind,
    positionKey: serial,
    status: 'completed',
    estimatedAt,
    trackingTokenHash: `history:${randomUUID()}`,
    walkInName: null,
    fee: s.fee,
    cancelReason: null,
    bookedAt,
    checkedInAt: null,
    calledAt: null,
    completedAt: null,
    cancelledAt: null,
    noShowAt: null,
    updatedAt: bookedAt,
  };
}
