// The two cron jobs: the outbox drain (claim with SKIP LOCKED and a lease, send, settle, retry with backoff)
// and the reminder scan (enqueue reminders due in the next window, from a watermark, so downtime is caught
// up once). Both return a status for expected non-work and throw only on real failure.
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import * as contextsRepo from './notifications.contexts.repository.js';
import * as preferencesRepo from './notifications.preferences.repository.js';
import * as scanRepo from './notifications.reminders.repository.js';
import * as repo from './notifications.repository.js';
import {
  ARRIVE_BY_SLIP_MS,
  backoffMs,
  basePayload,
  DEFAULT_OFFSETS,
  MAX_ATTEMPTS,
  patientRows,
  type RuleOptions,
  reminderSpec,
  TRANSACTIONAL_KINDS,
  URGENT_KINDS,
} from './notifications.rules.js';
import type { Channel, OutboxRow } from './notifications.table.js';
import { type MessagePayload, renderMessage } from './notifications.templates.js';
import { afterQuietHours } from './notifications.time.js';
import { type Transport, TransportError } from './notifications.transports.js';

export interface OutboxCounters {
  sent(channel: Channel): void;
  failed(channel: Channel): void;
}

export interface WorkerLog {
  warn(details: object, message: string): void;
}

export interface WorkerDeps extends RuleOptions {
  db: DB;
  clock: Clock;
  transports: Record<Channel, Transport>;
  counters?: OutboxCounters;
  log?: WorkerLog;
  /** How long a claim is held; must exceed a send's timeout plus LEASE_MARGIN_MS. */
  leaseMs: number;
  /** How long a transport may take before it gives up on a send (NOTIFY_TIMEOUT_MS). */
  sendTimeoutMs: number;
  /** @default 100 rows claimed per drain */
  batchSize?: number;
  /** @default 8 sends in flight per instance */
  concurrency?: number;
}

export interface DrainResult {
  status: 'idle' | 'worked';
  claimed: number;
  sent: number;
  retried: number;
  failed: number;
  cancelled: number;
  deferred: number;
  /** Claimed but given back unsent: too little of the lease was left to start their sends. */
  released: number;
}

export interface ScanResult {
  status: 'busy' | 'idle' | 'scanned';
  candidates: number;
  enqueued: number;
  from?: Date;
  to?: Date;
}

/** Kinds that are only worth sending while the appointment is still what the message says. */
const STALE_CHECKED = new Set(['reminder', 'arrive_by']);
/** A closing time in the payload past which a message is pointless (a lapsed waitlist offer). */
const EXPIRING: Partial<Record<string, keyof MessagePayload>> = { waitlist_offer: 'offerExpiresAt' };
const SCAN_NAME = 'reminders';
/** A process down longer than this does not look back further for reminders. */
const MAX_CATCH_UP_MS = 7 * 24 * 3600_000;
/**
 * Lease left over when a send times out: the settle's round trip, and clock skew between instances (another
 * instance judges the lease by its own clock).
 */
export const LEASE_MARGIN_MS = 5_000;

export class NotificationsWorker {
  constructor(private readonly deps: WorkerDeps) {
    if (deps.leaseMs < deps.sendTimeoutMs + LEASE_MARGIN_MS)
      throw new Error('the outbox lease must outlast a send timeout plus its margin');
  }

  /** One drain tick: claims due rows and sends them. Safe to run on every instance at once. */
  async drain(): Promise<DrainResult> {
    const { db, clock } = this.deps;
    const result: DrainResult = {
      status: 'idle',
      claimed: 0,
      sent: 0,
      retried: 0,
      failed: 0,
      cancelled: 0,
      deferred: 0,
      released: 0,
    };
    const now = clock.now();
    const lease = new Date(now.getTime() + this.deps.leaseMs);
    const rows = await repo.claimDue(db, now, lease, this.deps.batchSize ?? 100);
    if (rows.length === 0) return result;
    result.status = 'worked';
    result.claimed = rows.length;
    const stale = await this.staleRows(rows, now);
    const optOutApplies = (r: OutboxRow) => r.channel === 'sms' && !TRANSACTIONAL_KINDS.has(r.kind);
    const optedOut = await preferencesRepo.optedOut(
      db,
      rows.filter(optOutApplies).map((r) => r.recipient),
    );
    const queue = [...rows];
    // A send started later could still be running when the lease runs out; another instance would then claim
    // the row and send it too. process() does not wait on anything before it sends, so checking here is enough.
    const lastStart = lease.getTime() - this.deps.sendTimeoutMs - LEASE_MARGIN_MS;
    const unsent: OutboxRow[] = [];
    const worker = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        if (clock.now().getTime() > lastStart) {
          unsent.push(row, ...queue.splice(0));
          return;
        }
        const blocked = optOutApplies(row) && optedOut.has(row.recipient);
        const outcome = await this.process(row, lease, stale.get(row.id), blocked);
        result[outcome]++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.concurrency ?? 8, rows.length) }, worker));
    if (unsent.length > 0) {
      // Given back rather than left to expire: the next claim, here or elsewhere, need not wait for the lease.
      const ids = unsent.map((r) => r.id);
      result.released = await repo.releaseClaims(db, ids, lease, clock.now());
      this.deps.log?.warn(
        { claimed: rows.length, released: result.released, leaseMs: this.deps.leaseMs },
        'outbox drain ran short of lease (slow provider?): unsent rows given back for the next claim',
      );
    }
    return result;
  }

  /** Drains until nothing is due (bounded), for tests and the bench. */
  async drainAll(maxTicks = 1000): Promise<DrainResult[]> {
    const results: DrainResult[] = [];
    for (let i = 0; i < maxTicks; i++) {
      const r = await this.drain();
      results.push(r);
      if (r.status === 'idle') break;
    }
    return results;
  }

  /** Rows no longer worth sending, with the reason they are cancelled. */
  private async staleRows(rows: OutboxRow[], now: Date): Promise<Map<string, string>> {
    const stale = new Map<string, string>();
    for (const row of rows) {
      const field = EXPIRING[row.kind];
      const until = field ? (row.payload as MessagePayload)[field] : undefined;
      if (typeof until === 'string' && Date.parse(until) <= now.getTime()) stale.set(row.id, 'expired');
    }
    const checked = rows.filter((r) => STALE_CHECKED.has(r.kind) && r.appointmentId);
    if (checked.length === 0) return stale;
    const appointments = await this.deps.db
      .selectFrom('appointments')
      .select(['id', 'status', 'estimatedAt'])
      .where(
        'id',
        'in',
        checked.map((r) => r.appointmentId as string),
      )
      .execute();
    const byId = new Map(appointments.map((a) => [a.id, a]));
    for (const row of checked) {
      const a = byId.get(row.appointmentId as string);
      const told = (row.payload as MessagePayload).estimatedAt;
      // A reminder is worth sending until the estimate; an "arrive by" update until a while after the live
      // ETA it names (by then the estimate itself has usually passed).
      const until =
        row.kind === 'arrive_by' && told
          ? Date.parse(told) + ARRIVE_BY_SLIP_MS
          : a && new Date(a.estimatedAt).getTime();
      const active = a && ['booked', 'confirmed'].includes(a.status) && until && until > now.getTime();
      const unchanged =
        row.kind !== 'reminder' || (a && told && new Date(a.estimatedAt).getTime() === Date.parse(told));
      if (!active || !unchanged) stale.set(row.id, 'appointment changed');
    }
    return stale;
  }

  private async process(
    row: OutboxRow,
    lease: Date,
    stale: string | undefined,
    optedOut: boolean,
  ): Promise<'sent' | 'retried' | 'failed' | 'cancelled' | 'deferred'> {
    const { clock } = this.deps;
    const payload = row.payload as MessagePayload;
    if (stale) {
      await this.settle(row, lease, { status: 'cancelled', lastError: stale }, clock.now());
      return 'cancelled';
    }
    if (optedOut) {
      await this.settle(
        row,
        lease,
        { status: 'cancelled', lastError: 'recipient opted out (STOP)' },
        clock.now(),
      );
      return 'cancelled';
    }
    const now = clock.now();
    if (!row.urgent && !URGENT_KINDS.has(row.kind) && payload.tz && payload.quietStart && payload.quietEnd) {
      const resume = afterQuietHours(now, payload.tz, { start: payload.quietStart, end: payload.quietEnd });
      if (resume.getTime() !== now.getTime()) {
        await this.settle(
          row,
          lease,
          { status: 'pending', sendAfter: resume, attempts: row.attempts - 1 },
          now,
        );
        return 'deferred';
      }
    }
    const message = renderMessage(row.kind, row.language, payload);
    try {
      const { providerId } = await this.deps.transports[row.channel].send({
        to: row.recipient,
        subject: message.subject,
        text: message.text,
      });
      await this.settle(
        row,
        lease,
        { status: 'sent', providerId, sentAt: clock.now(), lastError: null },
        clock.now(),
      );
      this.deps.counters?.sent(row.channel);
      return 'sent';
    } catch (err) {
      const retryable = !(err instanceof TransportError) || err.retryable;
      const error = err instanceof Error ? err.message : String(err);
      const at = clock.now();
      if (retryable && row.attempts < MAX_ATTEMPTS) {
        const sendAfter = new Date(at.getTime() + backoffMs(row.attempts));
        await this.settle(row, lease, { status: 'pending', sendAfter, lastError: error.slice(0, 500) }, at);
        return 'retried';
      }
      await this.settle(row, lease, { status: 'failed', lastError: error.slice(0, 500) }, at);
      this.deps.counters?.failed(row.channel);
      return 'failed';
    }
  }

  /** Settles a claimed row; a lost lease means another instance has claimed it since, so it is logged. */
  private async settle(
    row: OutboxRow,
    lease: Date,
    values: Parameters<typeof repo.settle>[3],
    now: Date,
  ): Promise<void> {
    if (await repo.settle(this.deps.db, row.id, lease, values, now)) return;
    this.deps.log?.warn(
      { outboxId: row.id, kind: row.kind, channel: row.channel, outcome: values.status, lease },
      'outbox row not settled, its lease was lost: another instance has claimed it and may send it again',
    );
  }

  /** One reminder scan tick: enqueues every reminder whose time falls between the watermark and now + window. */
  async scanReminders(windowMs: number): Promise<ScanResult> {
    const { db, clock } = this.deps;
    const now = clock.now();
    const to = new Date(now.getTime() + windowMs);
    await scanRepo.ensureScanState(db, SCAN_NAME, now);
    return db.transaction().execute(async (trx): Promise<ScanResult> => {
      const state = await scanRepo.lockScanState(trx, SCAN_NAME);
      if (!state) return { status: 'busy', candidates: 0, enqueued: 0 };
      const from = new Date(
        Math.max(new Date(state.scannedUntil).getTime(), now.getTime() - MAX_CATCH_UP_MS),
      );
      if (from >= to) return { status: 'idle', candidates: 0, enqueued: 0 };
      const offsets = [...new Set([...DEFAULT_OFFSETS, ...(await scanRepo.distinctOffsets(trx))])];
      const candidates = await scanRepo.reminderCandidates(trx, { from, to, now }, offsets, DEFAULT_OFFSETS);
      const due = pickDue(candidates, from, to, now);
      let enqueued = 0;
      for (let i = 0; i < due.length; i += 500) {
        const chunk = due.slice(i, i + 500);
        const contexts = await contextsRepo.loadAppointmentContexts(trx, [
          ...new Set(chunk.map((c) => c.appointmentId)),
        ]);
        const byId = new Map(contexts.map((c) => [c.id, c]));
        const rows = chunk.flatMap((c) => {
          const ctx = byId.get(c.appointmentId);
          if (!ctx) return [];
          const spec = reminderSpec(ctx.id, c.offsetMinutes, c.estimatedAt, c.at);
          return patientRows(ctx, spec, basePayload(ctx), this.deps);
        });
        enqueued += await repo.insertOutbox(trx, rows);
      }
      await scanRepo.advanceScanState(trx, SCAN_NAME, to);
      return { status: 'scanned', candidates: candidates.length, enqueued, from, to };
    });
  }
}

/**
 * Exact send times in the window; after downtime, only the latest overdue reminder of an appointment goes
 * out (a patient 30 minutes from their visit gets the 1 h reminder, not the 24 h one as well).
 */
export function pickDue(candidates: scanRepo.ReminderCandidate[], from: Date, to: Date, now: Date) {
  const timed = candidates.filter((c) => c.at > from && c.at <= to);
  const overdueMin = new Map<string, number>();
  for (const c of timed) {
    if (c.at > now) continue;
    const current = overdueMin.get(c.appointmentId);
    if (current === undefined || c.offsetMinutes < current) overdueMin.set(c.appointmentId, c.offsetMinutes);
  }
  return timed.filter((c) => c.at > now || overdueMin.get(c.appointmentId) === c.offsetMinutes);
}
