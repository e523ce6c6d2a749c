// Notification rules: which domain events produce which messages, written to the outbox in the causing
// transaction — a message exists exactly when the change does. Sending and scanning live in
// notifications.worker.ts; listings and preferences in notifications.queries.ts; provider callbacks in
// notifications.webhooks.ts.
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database, DB, Executor } from '../../db/database.js';
import {
  type BookingDraft,
  type BookingPreview,
  type DomainEvents,
  type DraftedMessage,
  type EventMap,
  type QueueEventType,
  writesNothingForBookings,
} from '../../events.js';
import { TURN_NEAR_POSITION } from '../day/day.rules.js';
import { arriveByRows } from './notifications.arrive-by.js';
import * as contextsRepo from './notifications.contexts.repository.js';
import type { NewOutboxRow } from './notifications.repository.js';
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
import { formatMoney, type MessagePayload } from './notifications.templates.js';
import { estimatesWithReminderIn, reminderTime } from './notifications.time.js';

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
    events.inTransaction('appointment.booked', (trx, e) => this.onBooked(trx, e), {
      draftsBooking: (db, b) => this.draftBooked(db, b),
    });
    events.inTransaction('appointment.cancelled', (trx, e) => this.onCancelled(trx, e));
    events.inTransaction('appointment.rescheduled', (trx, e) => this.onRescheduled(trx, e));
    events.inTransaction('waitlist.offered', (trx, e) => this.onWaitlistOffered(trx, e));
    // A booking makes nothing due in onQueueChanged (it takes a place at the back or a free serial).
    events.inTransaction('queue.changed', (trx, e) => this.onQueueChanged(trx, e), {
      draftsBooking: writesNothingForBookings,
    });
    events.inTransaction('invoice.issued', (trx, e) => this.onInvoiceIssued(trx, e));
    events.inTransaction('feedback.requested', (trx, e) => this.onFeedbackRequested(trx, e));
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
    // The time the patient was told in the answer: the live estimate, not the slot's nominal time.
    if (e.estimatedAt) payload.estimatedAt = e.estimatedAt;
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

  /**
   * What onBooked writes for a booking placed by one statement, drafted before it runs: the confirmation,
   * whose serial and estimate the statement fills in. Reminders due at once are not drafted: the slots that
   * would have one are handed back, and a booking given one of them takes the full path.
   */
  async draftBooked(db: Executor, b: BookingPreview): Promise<BookingDraft | null> {
    const ctx = await contextsRepo.loadBookingContext(db, { ...b, at: b.slots.first });
    if (!ctx) return null;
    const payload = basePayload(ctx, trackingUrl(this.deps.publicUrl, b.trackingToken));
    const spec = { kind: 'confirmation' as const, dedupeKey: `confirmation:${ctx.id}`, sendAt: b.now };
    const soon = new Date(b.now.getTime() + SCAN_WINDOW_MS);
    return {
      messages: patientRows(ctx, spec, payload, this.deps).map((row) => drafted(row, b.now)),
      undraftedSlots: offsetsFor(ctx)
        .map((offset) => estimatesWithReminderIn(b.now, soon, offset, ctx.timezone))
        .filter(([from, to]) => from <= b.slots.last && to >= b.slots.first),
    };
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
    // A reschedule's old half: its own message (onRescheduled) replaces the cancellation.
    if (e.kind === 'rescheduled') return;
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

  /**
   * Messages a change to a session day makes due, in its transaction: your turn, the pause notice, turn-near
   * for the front of the line, and "arrive by" updates (the invoice and the feedback request follow billing's
   * and feedback's own events on completion). Each reads only the front of the line (TURN_NEAR_POSITION, ARRIVE_BY_WINDOW), so its cost does not grow with the
   * queue; only a pause tells everyone waiting.
   */
  async onQueueChanged(trx: Transaction<Database>, e: EventMap['queue.changed']): Promise<void> {
    const now = this.now();
    if (e.type === 'called' && e.appointmentId) await this.onCalled(trx, e.appointmentId, e.version, now);
    if (e.type === 'paused') await this.onPaused(trx, e.queueId, e.version, now);
    if (MOVES_THE_FRONT.has(e.type))
      await repo.insertOutbox(trx, await this.turnNearRows(trx, e.queueId, now));
    // A booking takes a place at the back (or a free serial): nobody ahead of it is told a later time.
    if (e.type !== 'booked') await repo.insertOutbox(trx, await arriveByRows(trx, e.queueId, now, this.deps));
  }

  /** Turn-near for whoever is now within TURN_NEAR_POSITION of the front and was not told yet. */
  private async turnNearRows(trx: Executor, queueId: string, now: Date) {
    const front = await contextsRepo.waitingAppointments(trx, queueId, TURN_NEAR_POSITION + 1);
    const told = await contextsRepo.toldTurnNear(
      trx,
      front.map((f) => f.id),
    );
    const due = front.map((f, position) => ({ id: f.id, position })).filter((f) => !told.has(f.id));
    if (due.length === 0) return [];
    const positions = new Map(due.map((d) => [d.id, d.position]));
    const contexts = await contextsRepo.loadAppointmentContexts(trx, [...positions.keys()]);
    return contexts.flatMap((ctx) =>
      patientRows(
        ctx,
        {
          kind: 'turn_near',
          dedupeKey: `turn_near:${ctx.id}`,
          sendAt: now,
          extra: { position: positions.get(ctx.id) ?? 0 },
        },
        basePayload(ctx),
        this.deps,
      ),
    );
  }

  private async onCalled(trx: Executor, appointmentId: string, version: number, now: Date): Promise<void> {
    const ctx = await this.context(trx, appointmentId);
    if (!ctx) return;
    const spec = { kind: 'your_turn' as const, dedupeKey: `your_turn:${ctx.id}:${version}`, sendAt: now };
    await repo.insertOutbox(trx, patientRows(ctx, spec, basePayload(ctx), this.deps));
  }

  /** The invoice of a completed visit (billing issues it in the completion's transaction), with its PDF link. */
  async onInvoiceIssued(trx: Transaction<Database>, e: EventMap['invoice.issued']): Promise<void> {
    const ctx = await this.context(trx, e.appointmentId);
    if (!ctx) return;
    const payload: MessagePayload = {
      ...basePayload(ctx),
      fee: formatMoney(e.currency, e.total),
      invoiceNumber: e.number,
      invoiceUrl: e.pdfUrl,
    };
    const spec = { kind: 'invoice' as const, dedupeKey: `invoice:${ctx.id}`, sendAt: this.now() };
    await repo.insertOutbox(trx, patientRows(ctx, spec, payload, this.deps));
  }

  /** The feedback request of a completed visit, with its single-use link. */
  async onFeedbackRequested(trx: Transaction<Database>, e: EventMap['feedback.requested']): Promise<void> {
    const ctx = await this.context(trx, e.appointmentId);
    if (!ctx) return;
    const payload: MessagePayload = { ...basePayload(ctx), feedbackUrl: e.feedbackUrl };
    const spec = { kind: 'feedback_request' as const, dedupeKey: `feedback:${ctx.id}`, sendAt: this.now() };
    await repo.insertOutbox(trx, patientRows(ctx, spec, payload, this.deps));
  }

  /** Everyone still waiting in the queue hears that the doctor paused (and until when, when known). */
  private async onPaused(trx: Executor, queueId: string, version: number, now: Date): Promise<void> {
    const waiting = await contextsRepo.waitingAppointments(trx, queueId);
    if (waiting.length === 0) return;
    const contexts = await contextsRepo.loadAppointmentContexts(
      trx,
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
    await repo.insertOutbox(trx, rows);
  }
}

/** Changes that can bring a patient within TURN_NEAR_POSITION of the front. */
const MOVES_THE_FRONT: ReadonlySet<QueueEventType> = new Set([
  'walk_in',
  'cancelled',
  'called',
  'completed',
  'skipped',
  'no_show',
  'recalled',
]);

/** An outbox row as the booking statement takes it (day_book_place fills in the serial and the estimate). */
function drafted(row: NewOutboxRow, now: Date): DraftedMessage {
  return {
    dedupe_key: row.dedupeKey,
    kind: row.kind,
    channel: row.channel,
    recipient: row.recipient,
    user_id: row.userId ?? null,
    hospital_id: row.hospitalId ?? null,
    language: row.language ?? 'en',
    payload: JSON.parse(row.payload as string),
    urgent: row.urgent ?? false,
    send_after: new Date(row.sendAfter ?? now).toISOString(),
  };
}
