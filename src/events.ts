// Typed domain events. Modules talk through these instead of reaching into each other's tables.
// Two phases: transactional handlers run inside the transaction that caused the event (the outbox writes
// its rows there, so a message exists exactly when the change does); commit handlers run after it commits
// (the live-queue projection and the broadcasts), and their failures are logged, never undo the change.
import type { FastifyBaseLogger } from 'fastify';
import type { Transaction } from 'kysely';
import type { Database, DB } from './db/database.js';
import type { QueueOp } from './modules/queue/queue.store.js';

export type QueueEventType =
  | 'booked'
  | 'walk_in'
  | 'cancelled'
  | 'confirmed'
  | 'checked_in'
  | 'called'
  | 'completed'
  | 'skipped'
  | 'no_show'
  | 'recalled'
  | 'paused'
  | 'resumed'
  | 'closed'
  | 'rebuilt';

export interface EventMap {
  /** A new appointment holds a serial (booking, walk-in, the new half of a reschedule). */
  'appointment.booked': {
    appointmentId: string;
    queueId: string;
    actorId: string | null;
    /** The raw tracking token, when the emitter has it: the confirmation message carries the link. */
    trackingToken?: string;
    /** Set when this booking is the new half of a reschedule (appointment.rescheduled follows). */
    rescheduledFrom?: string;
    /** The time the patient is told (the live estimate, ISO); the slot's own time when absent. */
    estimatedAt?: string;
  };
  'appointment.rescheduled': { appointmentId: string; previousAppointmentId: string; actorId: string | null };
  'appointment.cancelled': {
    appointmentId: string;
    queueId: string;
    actorId: string | null;
    reason: string;
    /** Who asked: the patient, the clinic, or a schedule change (time off, session edited or removed). */
    kind?: 'patient' | 'clinic' | 'time_off' | 'session_changed' | 'session_deleted' | 'rescheduled';
    actorRole?: 'patient' | 'doctor' | 'staff' | 'admin' | null;
    /** A booked (not walk-in) place came free: the waitlist may be offered it. */
    freedPlace?: boolean;
  };
  /** A freed place is held for a waitlisted patient until expiresAt (ISO); accept at POST /v1/waitlist/:id/accept. */
  'waitlist.offered': {
    entryId: string;
    queueId: string;
    profileId: string;
    accountId: string;
    expiresAt: string;
    link: string;
  };
  'appointment.confirmed': { appointmentId: string; actorId: string | null };
  /** Someone asked to reset an account's password: the link (e-mail) or code (SMS) goes to the owner. */
  'account.password_reset_requested': {
    resetId: string;
    userId: string;
    channel: 'email' | 'sms';
    recipient: string;
    /** The raw secret, only in this event and the message: a link token (e-mail) or a 6-digit code (SMS). */
    secret: string;
    validMinutes: number;
  };
  /** A registration named an e-mail that already has an account: the owner is told, the caller is not. */
  'account.registration_repeated': { userId: string; email: string };
  /**
   * A patient account was opened with its own profile: by the patient (POST /auth/register) or at a hospital's
   * desk (POST /patients), both through one accounts function. Notifications sets the channels in the same
   * transaction: SMS only for an account without an e-mail address.
   */
  'account.patient_registered': {
    userId: string;
    profileId: string;
    /** Null for an account the desk opened without an address (it holds a placeholder that gets no mail). */
    email: string | null;
    /** The desk's staff member or admin; null when the patient registered themselves. */
    actorId: string | null;
  };
  /**
   * An account became a doctor's (self-registration, an admin creating it or changing its role): the directory
   * writes its doctors row in the same transaction, and refuses (409) a licence number another doctor holds.
   */
  'account.doctor_registered': { userId: string; name: string; licenseNo: string | null };
  /** An account's name changed: a doctor's listed name follows in the same transaction. */
  'account.renamed': { userId: string; name: string };
  /** A doctor's weekly sessions or time off changed (what their profile and search results show). */
  'schedule.changed': { doctorId: string };
  /** An admin changed an account (role, hospital, disabled): open sockets of it re-check their rights. */
  'account.changed': { userId: string };
  /** An invoice issued for a completed visit, in the completion's transaction; its message links the PDF. */
  'invoice.issued': {
    invoiceId: string;
    appointmentId: string;
    number: string;
    total: number;
    currency: string;
    /** The signed PDF link (no sign-in); the raw token is only in this event and the message. */
    pdfUrl: string;
  };
  /** A completed visit's single-use feedback link; the raw token is only in this event and the message. */
  'feedback.requested': { appointmentId: string; feedbackUrl: string };
  /**
   * Any change to a session day, emitted once per change by the day ledger; carries the version the change
   * produced. Transactional handlers write the messages it makes due; after commit the live queue applies
   * `live.ops` to the projection and broadcasts (without `live`, the projection is rebuilt from Postgres).
   */
  'queue.changed': {
    queueId: string;
    version: number;
    type: QueueEventType;
    appointmentId?: string;
    serial?: number;
    /** A booking took the day's last place, or a cancellation freed a place of a full day. */
    room?: 'filled' | 'freed';
    live?: {
      ops: QueueOp[];
      hospitalId: string;
      /** The appointment's status after the change, for entries that left the line. */
      appointmentStatus?: string;
      notice?: { message: string | null; until: string | null; paused: boolean };
    };
  };
}

/**
 * A booking about to be placed by one statement outside any transaction (day_book_place): what the handlers
 * of `appointment.booked` and `queue.changed` see before it runs, so they can draft what they would write.
 */
export interface BookingPreview {
  appointmentId: string;
  queueId: string;
  profileId: string;
  serviceId: string | null;
  actorId: string;
  trackingToken: string;
  now: Date;
  /** The scheduled times the serial can get: from the first slot to the last, inclusive. */
  slots: { first: Date; last: Date };
}

/** An outbox row drafted before the booking's statement, which fills in `serial` and `estimatedAt`. */
export interface DraftedMessage {
  dedupe_key: string;
  kind: string;
  channel: string;
  recipient: string;
  user_id: string | null;
  hospital_id: string | null;
  language: string;
  payload: Record<string, unknown>;
  urgent: boolean;
  send_after: string;
}

/** What a transactional handler would write for a booking: its rows, and the slots it could not draft for. */
export interface BookingDraft {
  messages: DraftedMessage[];
  undraftedSlots: [Date, Date][];
}

/** Drafts a handler's writes for a booking; null when it cannot (the booking then takes the full path). */
export type BookingDrafter = (db: DB, preview: BookingPreview) => Promise<BookingDraft | null>;

/** A handler that writes nothing for a booking. */
export const writesNothingForBookings: BookingDrafter = async () => ({ messages: [], undraftedSlots: [] });

export type EventName = keyof EventMap;
type TxHandler<K extends EventName> = (
  trx: Transaction<Database>,
  payload: EventMap[K],
  emit: Emit,
) => Promise<void>;
type CommitHandler<K extends EventName> = (payload: EventMap[K]) => Promise<void> | void;
export type Emit = <K extends EventName>(name: K, payload: EventMap[K]) => Promise<void>;

/** The events a booking emits; a booking by one statement needs every transactional handler of them drafted. */
const BOOKING_EVENTS: EventName[] = ['appointment.booked', 'queue.changed'];

export class DomainEvents {
  #tx = new Map<EventName, TxHandler<never>[]>();
  #drafters = new Map<EventName, (BookingDrafter | undefined)[]>();
  #commit = new Map<EventName, CommitHandler<never>[]>();

  constructor(private readonly log: FastifyBaseLogger) {}

  /**
   * Runs inside the causing transaction (and may emit further events in it); a throw rolls the change back.
   * A handler of a booking's events that can say beforehand what it would write for a booking passes
   * `draftsBooking`; without it, bookings keep the full transaction (the handler runs in it).
   */
  inTransaction<K extends EventName>(
    name: K,
    handler: TxHandler<K>,
    opts: { draftsBooking?: BookingDrafter } = {},
  ): void {
    this.#tx.set(name, [...(this.#tx.get(name) ?? []), handler as TxHandler<never>]);
    this.#drafters.set(name, [...(this.#drafters.get(name) ?? []), opts.draftsBooking]);
  }

  /**
   * Every transactional handler's draft for a booking placed by one statement, merged; null when a handler
   * has no drafter or declines (the booking then runs in a transaction, with the handlers in it).
   */
  async draftBooking(db: DB, preview: BookingPreview): Promise<BookingDraft | null> {
    const drafters = BOOKING_EVENTS.flatMap((name) => this.#drafters.get(name) ?? []);
    const merged: BookingDraft = { messages: [], undraftedSlots: [] };
    for (const drafter of drafters) {
      const draft = drafter ? await drafter(db, preview) : null;
      if (!draft) return null;
      merged.messages.push(...draft.messages);
      merged.undraftedSlots.push(...draft.undraftedSlots);
    }
    return merged;
  }

  /** Runs after the causing transaction committed, in order of emission. */
  afterCommit<K extends EventName>(name: K, handler: CommitHandler<K>): void {
    this.#commit.set(name, [...(this.#commit.get(name) ?? []), handler as CommitHandler<never>]);
  }

  /** Opens a transaction whose `emit` runs transactional handlers now and commit handlers once it commits. */
  async transaction<T>(db: DB, work: (trx: Transaction<Database>, emit: Emit) => Promise<T>): Promise<T> {
    const emitted: { name: EventName; payload: unknown }[] = [];
    const result = await db.transaction().execute(async (trx) => {
      const emit: Emit = async (name, payload) => {
        for (const handler of this.#tx.get(name) ?? [])
          await (handler as TxHandler<typeof name>)(trx, payload, emit);
        emitted.push({ name, payload });
      };
      return work(trx, emit);
    });
    for (const { name, payload } of emitted)
      await this.dispatchCommitted(name, payload as EventMap[typeof name]);
    return result;
  }

  /** Runs commit handlers for an event that happened outside a transaction of ours. */
  async dispatchCommitted<K extends EventName>(name: K, payload: EventMap[K]): Promise<void> {
    for (const handler of this.#commit.get(name) ?? []) {
      try {
        await (handler as CommitHandler<K>)(payload);
      } catch (err) {
        this.log.error({ err, event: name }, 'after-commit handler failed');
      }
    }
  }
}
