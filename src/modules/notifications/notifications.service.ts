// Notification rules: which domain events produce which messages, preferences, listings, two-way SMS.
// Sending and scanning live in notifications.worker.ts.
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database, DB, Executor } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { DomainEvents, EventMap } from '../../events.js';
import { maskEmail, maskPhone } from '../../lib/phone.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import * as repo from './notifications.repository.js';
import {
  basePayload,
  DEFAULT_CHANNELS,
  DEFAULT_OFFSETS,
  doctorRows,
  offsetsFor,
  patientRows,
  quietFor,
  type RuleOptions,
  trackingUrl,
} from './notifications.rules.js';
import type { Channel, OutboxStatus } from './notifications.table.js';
import { SMS_REPLIES } from './notifications.templates.js';
import { isQuiet, offsetLabel, reminderTime } from './notifications.time.js';
import { validPhone } from './notifications.transports.js';

/** How far ahead the reminder scanner enqueues; a booking enqueues its own reminders due this soon. */
export const SCAN_WINDOW_MS = 5 * 60_000;
/** "Arrive by" updates go out when the live ETA slips this much past what the patient was last told. */
export const ARRIVE_BY_SLIP_MS = 20 * 60_000;

/** What two-way SMS needs from the booking module. */
export interface AppointmentActions {
  confirm(appointmentId: string, actorId: string | null): Promise<void>;
  cancel(appointmentId: string, actorId: string | null, reason: string): Promise<void>;
}

export interface NotificationsDeps extends RuleOptions {
  db: DB;
  clock: Clock;
  events: DomainEvents;
  appointments: AppointmentActions;
}

export interface Preferences {
  channels: Channel[];
  reminderOffsets: number[];
  quietStart: string | null;
  quietEnd: string | null;
  language: 'en' | 'bn';
}

export interface NotificationView {
  id: string;
  kind: string;
  channel: Channel;
  status: OutboxStatus;
  to: string;
  appointmentId?: string;
  sendAfter: string;
  sentAt?: string;
  attempts: number;
  lastError?: string;
  createdAt: string;
}

export interface ListQuery {
  status?: OutboxStatus;
  kind?: string;
  appointmentId?: string;
  date?: string;
  limit?: number;
  cursor?: string;
}

const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'END', 'QUIT', 'CANCEL']);
const START_WORDS = new Set(['START', 'UNSTOP', 'YES']);
const HELP_WORDS = new Set(['HELP', 'INFO']);

function toView(row: Awaited<ReturnType<typeof repo.listOutbox>>[number]): NotificationView {
  return {
    id: row.id,
    kind: row.kind,
    channel: row.channel,
    status: row.status,
    to: row.channel === 'sms' ? maskPhone(row.recipient) : maskEmail(row.recipient),
    ...(row.appointmentId ? { appointmentId: row.appointmentId } : {}),
    sendAfter: new Date(row.sendAfter).toISOString(),
    ...(row.sentAt ? { sentAt: new Date(row.sentAt).toISOString() } : {}),
    attempts: row.attempts,
    ...(row.lastError ? { lastError: row.lastError } : {}),
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export class NotificationsService {
  constructor(private readonly deps: NotificationsDeps) {}

  /** Subscribes to the domain events that cause messages. Called once at start-up. */
  subscribe(events: DomainEvents = this.deps.events): void {
    events.inTransaction('appointment.booked', (trx, e) => this.onBooked(trx, e));
    events.inTransaction('appointment.cancelled', (trx, e) => this.onCancelled(trx, e));
    events.inTransaction('appointment.rescheduled', (trx, e) => this.onRescheduled(trx, e));
    events.afterCommit('queue.changed', (e) => this.onQueueChanged(e));
    events.afterCommit('appointment.turn_near', (e) => this.onTurnNear(e));
  }

  private now(): Date {
    return this.deps.clock.now();
  }

  private async context(db: Executor, appointmentId: string) {
    return (await repo.loadAppointmentContexts(db, [appointmentId]))[0];
  }

  async onBooked(trx: Transaction<Database>, e: EventMap['appointment.booked']): Promise<void> {
    const ctx = await this.context(trx, e.appointmentId);
    if (!ctx) return;
    const now = this.now();
    const payload = basePayload(ctx, trackingUrl(this.deps.publicUrl, e.trackingToken));
    const rows = [];
    const rescheduled = await trx
      .selectFrom('notificationOutbox')
      .select('id')
      .where('appointmentId', '=', ctx.id)
      .where('kind', '=', 'reschedule')
      .executeTakeFirst();
    if (!rescheduled)
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
    ctx: repo.AppointmentContext,
    payload: ReturnType<typeof basePayload>,
    now: Date,
  ) {
    const estimatedAt = new Date(ctx.estimatedAt);
    return offsetsFor(ctx).flatMap((offset) => {
      const at = reminderTime(estimatedAt, offset, ctx.timezone);
      if (at <= now || at.getTime() > now.getTime() + SCAN_WINDOW_MS) return [];
      return patientRows(ctx, this.reminderSpec(ctx.id, offset, estimatedAt, at), payload, this.deps);
    });
  }

  reminderSpec(appointmentId: string, offset: number, estimatedAt: Date, at: Date) {
    return {
      kind: 'reminder' as const,
      dedupeKey: `reminder:${offsetLabel(offset)}:${appointmentId}:${estimatedAt.getTime()}`,
      sendAt: at,
      extra: { offsetMinutes: offset },
    };
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
    if (e.type === 'called' && e.appointmentId) {
      const ctx = await this.context(db, e.appointmentId);
      if (ctx) {
        const spec = {
          kind: 'your_turn' as const,
          dedupeKey: `your_turn:${ctx.id}:${e.version}`,
          sendAt: now,
        };
        await repo.insertOutbox(db, patientRows(ctx, spec, basePayload(ctx), this.deps));
      }
    }
    if (e.type === 'completed' && e.appointmentId) {
      const ctx = await this.context(db, e.appointmentId);
      if (ctx) {
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
              {
                kind: 'invoice',
                dedupeKey: `invoice:${ctx.id}`,
                sendAt: now,
                extra: { fee: String(ctx.fee) },
              },
              payload,
              this.deps,
            ),
          );
        await repo.insertOutbox(db, rows);
      }
    }
    if (e.type === 'paused') {
      const waiting = await repo.waitingAppointments(db, e.queueId);
      const contexts = waiting.length
        ? await repo.loadAppointmentContexts(
            db,
            waiting.map((w) => w.id),
          )
        : [];
      const rows = contexts.flatMap((ctx) =>
        patientRows(
          ctx,
          {
            kind: 'doctor_paused',
            dedupeKey: `doctor_paused:${ctx.id}:${e.version}`,
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
    await this.checkArriveBy(e.queueId, now);
  }

  /**
   * Booked patients who have not checked in hear a new "arrive by" time when the live ETA (position ×
   * average consult time, never before their estimate) slips more than 20 minutes past what they were last
   * told: one message per slip, none during quiet hours.
   */
  async checkArriveBy(queueId: string, now: Date): Promise<number> {
    const { db } = this.deps;
    const queue = await db
      .selectFrom('sessionDays')
      .select(['avgConsultSeconds', 'slotMinutes', 'status', 'startsAt'])
      .where('id', '=', queueId)
      .executeTakeFirst();
    if (!queue || queue.status === 'closed' || queue.status === 'cancelled') return 0;
    const waiting = await repo.waitingAppointments(db, queueId);
    const consultMs = (queue.avgConsultSeconds ?? queue.slotMinutes * 60) * 1000;
    const start = Math.max(now.getTime(), new Date(queue.startsAt).getTime());
    const slipped = waiting
      .map((w, position) => ({
        ...w,
        eta: Math.max(start + position * consultMs, new Date(w.estimatedAt).getTime()),
      }))
      .filter((w) => w.status !== 'checked_in');
    if (slipped.length === 0) return 0;
    const told = await db
      .selectFrom('notificationOutbox')
      .select(['appointmentId', 'payload', 'kind'])
      .where(
        'appointmentId',
        'in',
        slipped.map((w) => w.id),
      )
      .where('kind', 'in', ['confirmation', 'reschedule', 'arrive_by'])
      .where('status', 'not in', ['cancelled', 'failed'])
      .orderBy('createdAt')
      .execute();
    const lastTold = new Map<string, number>();
    for (const row of told) {
      const at = (row.payload as { estimatedAt?: string }).estimatedAt;
      if (row.appointmentId && at) lastTold.set(row.appointmentId, Date.parse(at));
    }
    const due = slipped.filter((w) => {
      const previous = lastTold.get(w.id) ?? new Date(w.estimatedAt).getTime();
      return w.eta - previous > ARRIVE_BY_SLIP_MS;
    });
    if (due.length === 0) return 0;
    const contexts = await repo.loadAppointmentContexts(
      db,
      due.map((w) => w.id),
    );
    const rows = contexts.flatMap((ctx) => {
      if (isQuiet(now, ctx.timezone, quietFor(ctx))) return [];
      const w = due.find((d) => d.id === ctx.id);
      if (!w) return [];
      const previous = lastTold.get(ctx.id) ?? new Date(ctx.estimatedAt).getTime();
      const eta = new Date(w.eta).toISOString();
      return patientRows(
        ctx,
        {
          kind: 'arrive_by',
          dedupeKey: `arrive_by:${ctx.id}:${previous}`,
          sendAt: now,
          extra: { estimatedAt: eta },
        },
        basePayload(ctx),
        this.deps,
      );
    });
    return repo.insertOutbox(db, rows);
  }

  // ---- preferences

  async getPreferences(userId: string): Promise<Preferences> {
    const row = await repo.findPreferences(this.deps.db, userId);
    if (!row)
      return {
        channels: DEFAULT_CHANNELS,
        reminderOffsets: DEFAULT_OFFSETS,
        quietStart: null,
        quietEnd: null,
        language: 'en',
      };
    return {
      channels: row.channels,
      reminderOffsets: row.reminderOffsets.map(Number),
      quietStart: row.quietStart?.slice(0, 5) ?? null,
      quietEnd: row.quietEnd?.slice(0, 5) ?? null,
      language: row.language,
    };
  }

  async updatePreferences(userId: string, patch: Partial<Preferences>): Promise<Preferences> {
    const current = await this.getPreferences(userId);
    const next: Preferences = { ...current, ...patch };
    if ((next.quietStart === null) !== (next.quietEnd === null))
      throw new AppError('VALIDATION_FAILED', 'quietStart and quietEnd are set together', [
        {
          field: next.quietStart === null ? 'quietStart' : 'quietEnd',
          message: 'is required with the other',
        },
      ]);
    next.channels = [...new Set(next.channels)];
    next.reminderOffsets = [...new Set(next.reminderOffsets)].sort((a, b) => b - a);
    await repo.upsertPreferences(this.deps.db, userId, next, this.now());
    return next;
  }

  // ---- listings

  async list(scope: { userId?: string; hospitalId?: string }, query: ListQuery) {
    const limit = query.limit ?? 20;
    const after = decodeCursor<[string, string]>(query.cursor, 2);
    if (query.cursor && !after) throw new AppError('VALIDATION_FAILED', 'cursor is not valid');
    const rows = await repo.listOutbox(this.deps.db, {
      ...scope,
      status: query.status,
      kind: query.kind,
      appointmentId: query.appointmentId,
      date: query.date,
      limit,
      after: after ? { createdAt: after[0], id: after[1] } : null,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toView),
      nextCursor:
        rows.length > limit && last ? encodeCursor([new Date(last.createdAt).toISOString(), last.id]) : null,
    };
  }

  // ---- provider callbacks

  /** Twilio's delivery report. Unknown message ids are ignored (answered 200 so Twilio stops retrying). */
  async deliveryReport(report: { messageSid: string; status: string; errorCode?: string }): Promise<boolean> {
    const mapped =
      report.status === 'delivered'
        ? 'delivered'
        : report.status === 'failed' || report.status === 'undelivered'
          ? 'failed'
          : 'sent';
    const error =
      mapped === 'failed'
        ? `provider: ${report.status}${report.errorCode ? ` (${report.errorCode})` : ''}`
        : null;
    return repo.applyDeliveryStatus(this.deps.db, report.messageSid, mapped, error, this.now());
  }

  /** A text from a patient: STOP/START/HELP, C confirms and X cancels their next appointment. */
  async inboundSms(from: string, body: string): Promise<string> {
    const phone = validPhone(from, this.deps.phoneRegion) ?? from;
    const word = body.trim().toUpperCase();
    const now = this.now();
    if (STOP_WORDS.has(word)) {
      await repo.optOut(this.deps.db, phone, now);
      return SMS_REPLIES.stopped;
    }
    if (START_WORDS.has(word)) {
      await repo.optIn(this.deps.db, phone);
      return SMS_REPLIES.started;
    }
    if (HELP_WORDS.has(word)) return SMS_REPLIES.help;
    if (word === 'C' || word === 'X') {
      const next = await repo.nextAppointmentForPhone(this.deps.db, phone, now);
      if (!next) return SMS_REPLIES.none;
      if (word === 'C') {
        await this.deps.appointments.confirm(next.id, null);
        return SMS_REPLIES.confirmed(next.serial);
      }
      await this.deps.appointments.cancel(next.id, null, 'cancelled by SMS reply');
      return SMS_REPLIES.cancelled(next.serial);
    }
    return SMS_REPLIES.help;
  }
}
