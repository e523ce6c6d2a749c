// Reviews: one per completed appointment, by the account that booked it; public with the reviewer's first
// name and initial; admins hide abusive ones (hidden reviews leave the rating aggregate).
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError, forbidden, invalidField, notFound } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import type { DoctorsService, Viewer } from './doctors.service.js';
import * as repo from './reviews.repository.js';

export interface ReviewsDeps {
  db: DB;
  clock: Clock;
  doctors: DoctorsService;
}

/** "Karim Hossain" → "Karim H.": enough to feel real, not enough to identify a patient. */
export function reviewerName(fullName: string): string {
  const words = fullName.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return 'Patient';
  const first = words[0];
  const last = words.length > 1 ? words[words.length - 1] : '';
  return last ? `${first} ${last[0].toUpperCase()}.` : first;
}

type ReviewRow = NonNullable<Awaited<ReturnType<typeof repo.findReview>>>;

function toReviewView(row: ReviewRow, withAppointment: boolean) {
  return {
    id: row.id,
    doctorId: row.doctorId,
    ...(withAppointment ? { appointmentId: row.appointmentId } : {}),
    rating: row.rating,
    comment: row.comment,
    reviewer: reviewerName(row.authorName),
    hidden: row.hiddenAt !== null,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

export class ReviewsService {
  constructor(private readonly deps: ReviewsDeps) {}

  async create(viewer: Viewer, appointmentId: string, body: { rating: number; comment?: string }) {
    const now = this.deps.clock.now();
    const id = await this.deps.db.transaction().execute(async (trx) => {
      const appointment = await repo.findAppointmentForReview(trx, appointmentId);
      const mine = appointment && (appointment.bookedBy === viewer.id || appointment.accountId === viewer.id);
      if (!appointment || !mine) throw notFound('Appointment');
      if (appointment.status !== 'completed') {
        throw new AppError('CONFLICT', 'Only a completed visit can be reviewed', {
          status: appointment.status,
        });
      }
      const inserted = await repo.insertReview(trx, {
        appointmentId,
        doctorId: appointment.doctorId,
        authorId: viewer.id,
        rating: body.rating,
        comment: body.comment ?? '',
        at: now,
      });
      if (!inserted) throw new AppError('CONFLICT', 'This visit has already been reviewed');
      await repo.adjustRating(trx, appointment.doctorId, body.rating, 1);
      return { reviewId: inserted.id, doctorId: appointment.doctorId };
    });
    await this.deps.doctors.invalidate(id.doctorId);
    const row = await repo.findReview(this.deps.db, id.reviewId);
    if (!row) throw notFound('Review');
    return toReviewView(row, true);
  }

  async list(
    doctorId: string,
    viewer: Viewer | null,
    options: { includeHidden?: boolean; limit?: number; cursor?: string },
  ) {
    // The public sees reviews of listed doctors; the doctor and admins also see hidden ones on request.
    await this.deps.doctors.profile(doctorId, viewer);
    const manager = this.deps.doctors.canManage(viewer, doctorId);
    if (options.includeHidden && !manager)
      throw forbidden('Only this doctor or an admin may see hidden reviews');
    const limit = options.limit ?? 20;
    const after = decodeCursor<[string, string]>(options.cursor, 2);
    if (options.cursor && !after) {
      throw invalidField('querystring.cursor', 'is not a cursor of this list');
    }
    const rows = await repo.listReviews(this.deps.db, doctorId, {
      includeHidden: options.includeHidden === true,
      after,
      limit,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => toReviewView(r, manager)),
      nextCursor:
        rows.length > limit && last ? encodeCursor([new Date(last.createdAt).toISOString(), last.id]) : null,
    };
  }

  async setHidden(id: string, hidden: boolean) {
    const now = this.deps.clock.now();
    const doctorId = await this.deps.db.transaction().execute(async (trx) => {
      const changed = await repo.setReviewHidden(trx, id, hidden, now);
      if (changed) {
        await repo.adjustRating(
          trx,
          changed.doctorId,
          hidden ? -changed.rating : changed.rating,
          hidden ? -1 : 1,
        );
        return changed.doctorId;
      }
      return null;
    });
    const row = await repo.findReview(this.deps.db, id);
    if (!row) throw notFound('Review');
    if (doctorId) await this.deps.doctors.invalidate(doctorId);
    return toReviewView(row, true);
  }
}
