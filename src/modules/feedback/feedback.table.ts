import type { Generated, Selectable } from 'kysely';
import type { Timestamp } from '../accounts/accounts.table.js';

/** The patient's private feedback on a completed visit (not the public doctor review). */
export interface FeedbackTable {
  id: Generated<string>;
  appointmentId: string;
  hospitalId: string;
  doctorId: string;
  accountId: string | null;
  rating: number;
  waitRating: number;
  comment: Generated<string>;
  wouldRecommend: boolean | null;
  /** Given in the app (signed in) or through the message's single-use link. */
  via: 'app' | 'link';
  createdAt: Timestamp;
}

/** The single-use link of a feedback message, stored as a SHA-256 of its token. */
export interface FeedbackLinksTable {
  appointmentId: string;
  tokenHash: string;
  expiresAt: Timestamp;
  usedAt: Timestamp | null;
}

export interface FeedbackTables {
  feedback: FeedbackTable;
  feedbackLinks: FeedbackLinksTable;
}

export type Feedback = Selectable<FeedbackTable>;
