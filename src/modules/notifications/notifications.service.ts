// Notification rules: which domain events produce which messages, written to the outbox in the causing
// transaction (or right after it commits, for the live queue's events). Sending and scanning live in
// notifications.worker.ts; listings and preferences in notifications.queries.ts; provider callbacks in
// notifications.webhooks.ts.
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database, DB, Executor } from '../../db/database.js';
import type { DomainEvents, EventMap } from '../../events.js';
import { arriveByRows } from './notifications.arrive-by.js';
import * as contextsRepo from './notifications.contexts.repository.js';
import * as repo from './notifications.repository.js';
import {
  basePayload,
  doctorRows,
  offerPayload,
  offsetsFor,
  patientRows,
  type RuleOptions,
  reminderSpec,
  trackingUrl,
} from './notifications.rules.js';
import { reminderTime } from './notifications.time.js';

/** How far ahead the reminder scanner enqueues; a booking enqueues its own reminders due this soon. */
export const SCAN_WINDOW_MS = 5 * 60_000;

export interface NotificationsDeps extends RuleOptions {
  db: DB;
  clock: Clock;
  events: DomainEvents;
}

export class NotificationsService {
  constructor(private readonly deps: NotificationsDeps) {}

  /** Subscribes to the domain events that cause messages. Called once at start-up. */
  subscribe(events: DomainEvents = this.deps.events): void {
    events.inTransaction('appointment.booked', (trx, e) => this.onBooked(trx, e));
    events.inTransaction('appointment.cancelled', (trx, e) => this.onCancelled(trx, e));
    events.inTransaction('appointment.rescheduled', (trx, e) => this.onRescheduled(trx, e));
    events.inTransaction('waitlist.offered', (trx, e) => this.onWaitlistOffered(trx, e));
    events.afterCommit('queue.changed', (e) => this.onQueueChanged(e));
    events.afterCommit('appointment.turn_near', (e) => this.onTurnNear(e));
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  private async context(db: Executor, appointmentId: string) {
    return (await contextsRepo.loadAppointmentContexts(db, [appointmentId]))[0];
  }

  async onBooked(trx: Transaction<Database>, e: EventMap['appointment.booked']): Promise<void> {
    const ctx = await this.context(trx, e.appointmentId);
    if (!ctx) return;
    const now = this.now();
    const payload = basePayload(ctx, trackingUrl(this.deps.publicUrl, e.trackingToken));
    const rows = [];
    // Only the new half of a reschedule can already have its "moved" message instead of a confirmation.
    if (!e.rescheduledFrom || !(await contextsRepo.hasRescheduleMessage(trx, ctx.id)))
      rows.push(
        ...patientRows(
          ctx,
          { kind: 'confirmation', dedupeKey: `confirmation:${ctx.id}`, sendAt: now },
          payload,
          this.deps,
        ),
      );
    if (ctx.kind === 'booked') rows.push(...this.imminentReminders(ctx, payload, now));
    await repo.insertOutbox(trx, rows);
  }

  /** Reminders due before the scanner's next window reaches them (it has already looked that far). */
  private imminentReminders(
    ctx: contextsRepo.AppointmentContext,
    payload: ReturnType<typeof basePayload>,
    now: Date,
  ) {
    const estimatedAt = new Date(ctx.estimatedAt);
    return offsetsFor(ctx).flatMap((offset) => {
      const at = reminderTime(estimatedAt, offset, ctx.timezone);
      if (at <= now || at.getTime() > now.getTime() + SCAN_WINDOW_MS) return [];
      return patientRows(ctx, reminderSpec(ctx.id, offset, estimatedAt, at), payload, this.deps);
    });
  }

  async onCancelled(trx: Transaction<Database>, e: EventMap['appointment.cancelled']): Promise<void> {
    const now = this.now();
    await repo.cancelPending(trx, e.appointmentId, 'appointment cancelled', now);
    const ctx = await this.context(trx, e.appointmentId);
    if (!ctx) return;
    const payload = { ...basePayload(ctx), reason: e.reason };
    await repo.insertOutbox(trx, [
      ...patientRows(
        ctx,
        { kind: 'cancellation', dedupeKey: `cancellation:${ctx.id}`, sendAt: now },
        payload,
        this.deps,
      ),
      ...doctorRows(
        ctx,
        { kind: 'doctor_cancellation', dedupeKey: `doctor_cancellation:${ctx.id}`, sendAt: now },
        payload,
        this.deps,
      ),
    ]);
  }

  async onRescheduled(trx: Transaction<Database>, e: EventMap['appointment.rescheduled']): Promise<void> {
    const now = this.now();
    await repo.cancelPending(trx, e.previousAppointmentId, 'appointment rescheduled', now);
    // The new half was announced as booked; one "moved" message replaces its confirmation.
    await repo.cancelPending(trx, e.appointmentId, 'replaced by the reschedule message', now, [
      'confirmation',
    ]);
    const ctx = await this.context(trx, e.appointmentId);
    if (!ctx) return;
    const previous = await this.context(trx, e.previousAppointmentId);
    const payload = basePayload(ctx, previous?.trackingUrl);
    await repo.insertOutbox(trx, [
      ...patientRows(
        ctx,
        { kind: 'reschedule', dedupeKey: `reschedule:${ctx.id}`, sendAt: now },
        payload,
        this.deps,
      ),
      ...(ctx.kind === 'booked' ? this.imminentReminders(ctx, payload, now) : []),
    ]);
  }

  /**
   * A freed place held for a waitlisted patient: the link and the expiry, at once (urgent: quiet hours would
   * let the offer lapse unseen). One message per offer; an opt-out does not stop it (the patient asked).
   */
  async onWaitlistOffered(trx: Transaction<Database>, e: EventMap['waitlist.offered']): Promise<void> {
    const found = await contextsRepo.loadOfferContext(trx, e);
    if (!found) return;
    const ctx = { ...found, id: null, walkInPhone: null };
    const spec = {
      kind: 'waitlist_offer' as const,
      dedupeKey: `waitlist_offer:${e.entryId}:${Date.parse(e.expiresAt)}`,
      sendAt: this.now(),
    };
    await repo.insertOutbox(trx, patientRows(ctx, spec, offerPayload(found, e), this.deps));
  }

  async onTurnNear(e: EventMap['appointment.turn_near']): Promise<void> {
    const ctx = await this.context(this.deps.db, e.appointmentId);
    if (!ctx) return;
    const spec = {
      kind: 'turn_near' as const,
      dedupeKey: `turn_near:${ctx.id}`,
      sendAt: this.now(),
      extra: { position: e.position },
    };
    await repo.insertOutbox(this.deps.db, patientRows(ctx, spec, basePayload(ctx), this.deps));
  }

  async onQueueChanged(e: EventMap['queue.changed']): Promise<void> {
    const { db } = this.deps;
    const now = this.now();
    if (e.type === 'called' && e.appointmentId) await this.onCalled(e.appointmentId, e.version, now);
    if (e.type === 'completed' && e.appointmentId) await this.onCompleted(e.appointmentId, now);
    if (e.type === 'paused') await this.onPaused(e.queueId, e.version, now);
    await repo.insertOutbox(db, await arriveByRows(db, e.queueId, now, this.deps));
  }

  private async onCalled(appointmentId: string, version: number, now: Date): Promise<void> {
    const ctx = await this.context(this.deps.db, appointmentId);
    if (!ctx) return;
    const spec = { kind: 'your_turn' as const, dedupeKey: `your_turn:${ctx.id}:${version}`, sendAt: now };
    await repo.insertOutbox(this.deps.db, patientRows(ctx, spec, basePayload(ctx), this.deps));
  }

  /** A feedback request, and an invoice when the visit had a fee. */
  private async onCompleted(appointmentId: string, now: Date): Promise<void> {
    const ctx = await this.context(this.deps.db, appointmentId);
    if (!ctx) return;
    const payload = basePayload(ctx);
    const rows = patientRows(
      ctx,
      { kind: 'feedback_request', dedupeKey: `feedback:${ctx.id}`, sendAt: now },
      payload,
      this.deps,
    );
    if (Number(ctx.fee) > 0)
      rows.push(
        ...patientRows(
          ctx,
          { kind: 'invoice', dedupeKey: `invoice:${ctx.id}`, sendAt: now, extra: { fee: String(ctx.fee) } },
          payload,
          this.deps,
        ),
      );
    await repo.insertOutbox(this.deps.db, rows);
  }

  /** Everyone still waiting in the queue hears that the doctor paused (and until when, when known). */
  private async onPaused(queueId: string, version: number, now: Date): Promise<void> {
    const { db } = this.deps;
    const waiting = await contextsRepo.waitingAppointments(db, queueId);
    if (waiting.length === 0) return;
    const contexts = await contextsRepo.loadAppointmentContexts(
      db,
      waiting.map((w) => w.id),
    );
    const rows = contexts.flatMap((ctx) =>
      patientRows(
        ctx,
        {
          kind: 'doctor_paused',
          dedupeKey: `doctor_paused:${ctx.id}:${version}`,
          sendAt: now,
          extra: {
            notice: ctx.notice,
            until: ctx.pausedUntil ? new Date(ctx.pausedUntil).toISOString() : null,
          },
        },
        basePayload(ctx),
        this.deps,
      ),
    );
    await repo.insertOutbox(db, rows);
  }
}
