// Private feedback on a completed visit (separate from the public doctor review): once per visit, within
// FEEDBACK_DAYS, by the account that owns the appointment or through the feedback message's single-use link,
// which is made in the completion's transaction. The hospital's staff read it.
import type { Static } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database, DB } from '../../db/database.js';
import { notFound } from '../../errors.js';
import { type DomainEvents, type Emit, writesNothingForBookings } from '../../events.js';
import { keysetPage, listStart, recordScope } from '../../lib/listing.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Principal } from '../../plugins/auth.js';
import * as repo from './feedback.repository.js';
import { alreadyGiven, feedbackClosesAt, feedbackRefusal } from './feedback.rules.js';
import type { FeedbackBodySchema, FeedbackListQuerySchema } from './feedback.schema.js';

export interface FeedbackDeps {
  db: DB;
  clock: Clock;
  events: DomainEvents;
  publicUrl: string;
}

type Body = Static<typeof FeedbackBodySchema>;

export function toFeedbackView(row: repo.FeedbackRow) {
  return {
    id: row.id,
    appointmentId: row.appointmentId,
    hospitalId: row.hospitalId,
    doctor: { id: row.doctorId, name: row.doctorName },
    patientName: row.patientName,
    visitDate: row.visitDate,
    rating: row.rating,
    waitRating: row.waitRating,
    comment: row.comment,
    wouldRecommend: row.wouldRecommend,
    via: row.via,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export class FeedbackService {
  constructor(private readonly deps: FeedbackDeps) {}

  /**
   * Every completed visit gets its feedback link (and so its message) in the completion's transaction; a
   * booking makes nothing due here, which keeps bookings on their one-statement path.
   */
  subscribe(events: DomainEvents = this.deps.events): void {
    events.inTransaction(
      'queue.changed',
      async (trx, e, emit) => {
        if (e.type === 'completed' && e.appointmentId) await this.#request(trx, e.appointmentId, emit);
      },
      { draftsBooking: writesNothingForBookings },
    );
  }

  async #request(trx: Transaction<Database>, appointmentId: string, emit: Emit): Promise<void> {
    const token = newOpaqueToken();
    const made = await repo.insertLink(trx, {
      appointmentId,
      tokenHash: hashToken(token),
      expiresAt: feedbackClosesAt(this.deps.clock.now()),
    });
    if (made)
      await emit('feedback.requested', {
        appointmentId,
        feedbackUrl: `${this.deps.publicUrl}/feedback/${token}`,
      });
  }

  /** Feedback by the signed-in account that owns the appointment (404 to anyone else). */
  async submit(principal: Principal, appointmentId: string, body: Body) {
    const id = await this.deps.db.transaction().execute(async (trx) => {
      const visit = await repo.findVisit(trx, appointmentId);
      if (!visit || visit.accountId === null || visit.accountId !== principal.id)
        throw notFound('Appointment');
      return this.#record(trx, visit, body, 'app');
    });
    return this.#reread(id);
  }

  /** What the feedback page shows before the patient answers; 404 for an unknown or expired link. */
  async linkDetails(token: string) {
    const link = await repo.findLink(this.deps.db, hashToken(token));
    const visit = link ? await repo.findVisit(this.deps.db, link.appointmentId) : undefined;
    if (!link || !visit || new Date(link.expiresAt) < this.deps.clock.now()) throw notFound('Feedback link');
    return {
      doctorName: visit.doctorName,
      hospitalName: visit.hospitalName,
      visitDate: visit.date,
      used: link.usedAt !== null,
      expiresAt: new Date(link.expiresAt).toISOString(),
    };
  }

  /** Feedback through the message's link, without signing in; the link works once. */
  async submitByLink(token: string, body: Body) {
    const id = await this.deps.db.transaction().execute(async (trx) => {
      const link = await repo.lockLink(trx, hashToken(token));
      if (!link || new Date(link.expiresAt) < this.deps.clock.now()) throw notFound('Feedback link');
      if (link.usedAt) throw alreadyGiven();
      const visit = await repo.findVisit(trx, link.appointmentId);
      if (!visit) throw notFound('Feedback link');
      return this.#record(trx, visit, body, 'link');
    });
    return this.#reread(id);
  }

  async #record(trx: Transaction<Database>, visit: repo.Visit, body: Body, via: 'app' | 'link') {
    const now = this.deps.clock.now();
    const refusal = feedbackRefusal(
      { status: visit.status, completedAt: visit.completedAt ? new Date(visit.completedAt) : null },
      now,
    );
    if (refusal) throw refusal;
    const id = await repo.insertFeedback(trx, {
      appointmentId: visit.id,
      hospitalId: visit.hospitalId,
      doctorId: visit.doctorId,
      accountId: visit.accountId,
      rating: body.rating,
      waitRating: body.waitRating,
      comment: body.comment?.trim() ?? '',
      wouldRecommend: body.wouldRecommend ?? null,
      via,
      createdAt: now,
    });
    if (!id) throw alreadyGiven();
    await repo.useLink(trx, visit.id, now);
    return id;
  }

  async #reread(id: string) {
    const row = await repo.findFeedback(this.deps.db, id);
    if (!row) throw notFound('Feedback');
    return toFeedbackView(row);
  }

  /** A patient's own feedback, a hospital's for its staff, any for admins. */
  async list(principal: Principal, query: Static<typeof FeedbackListQuerySchema>) {
    const after = listStart(query);
    const limit = query.limit ?? 20;
    const rows = await repo.listFeedback(this.deps.db, recordScope(principal, query.hospitalId), {
      hospitalId: query.hospitalId,
      doctorId: query.doctorId,
      from: query.from,
      to: query.to,
      after,
      limit,
    });
    const { page, nextCursor } = keysetPage(rows, limit, (r) => r.createdAt);
    return { items: page.map(toFeedbackView), nextCursor };
  }
}
