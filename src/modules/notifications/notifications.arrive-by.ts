// "Arrive by" updates: booked patients who have not checked in hear a new time when the live ETA of their
// queue slips well past what they were last told.
import type { Executor } from '../../db/database.js';
import { ARRIVE_BY_WINDOW } from '../day/day.rules.js';
import * as contextsRepo from './notifications.contexts.repository.js';
import type * as repo from './notifications.repository.js';
import {
  ARRIVE_BY_SLIP_MS,
  basePayload,
  patientRows,
  quietFor,
  type RuleOptions,
} from './notifications.rules.js';
import { isQuiet } from './notifications.time.js';

/**
 * Outbox rows for the patients at the front of the line (ARRIVE_BY_WINDOW) whose live ETA (position × average consult time, never before their
 * estimate) is more than 20 minutes past what they were last told: one message per slip (the key names the
 * time it corrects), none during the patient's quiet hours (a later queue change may still tell them).
 */
export async function arriveByRows(
  db: Executor,
  queueId: string,
  now: Date,
  opts: RuleOptions,
): Promise<repo.NewOutboxRow[]> {
  const queue = await contextsRepo.findQueueTiming(db, queueId);
  if (!queue || queue.status === 'closed' || queue.status === 'cancelled') return [];
  const waiting = await contextsRepo.waitingAppointments(db, queueId, ARRIVE_BY_WINDOW);
  const consultMs = (queue.avgConsultSeconds ?? queue.slotMinutes * 60) * 1000;
  const start = Math.max(now.getTime(), new Date(queue.startsAt).getTime());
  const notCheckedIn = waiting
    .map((w, position) => ({
      ...w,
      eta: Math.max(start + position * consultMs, new Date(w.estimatedAt).getTime()),
    }))
    .filter((w) => w.status !== 'checked_in');
  if (notCheckedIn.length === 0) return [];
  const lastTold = await contextsRepo.lastToldTimes(
    db,
    notCheckedIn.map((w) => w.id),
  );
  const told = (w: { id: string; estimatedAt: Date }) =>
    lastTold.get(w.id) ?? new Date(w.estimatedAt).getTime();
  const due = new Map(notCheckedIn.filter((w) => w.eta - told(w) > ARRIVE_BY_SLIP_MS).map((w) => [w.id, w]));
  if (due.size === 0) return [];
  const contexts = await contextsRepo.loadAppointmentContexts(db, [...due.keys()]);
  return contexts.flatMap((ctx) => {
    const w = due.get(ctx.id);
    if (!w || isQuiet(now, ctx.timezone, quietFor(ctx))) return [];
    return patientRows(
      ctx,
      {
        kind: 'arrive_by',
        dedupeKey: `arrive_by:${ctx.id}:${told(w)}`,
        sendAt: now,
        extra: { estimatedAt: new Date(w.eta).toISOString() },
      },
      basePayload(ctx),
      opts,
    );
  });
}
