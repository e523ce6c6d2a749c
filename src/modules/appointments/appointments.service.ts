// The appointments module's one service, as the routes, the schedule and the notifications modules see it:
// booking (appointments.booking.service.ts), changes to a booking (appointments.changes.service.ts), reads
// (appointments.reads.ts) and the waitlist (appointments.waitlist.ts).
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import type { DomainEvents } from '../../events.js';
import type { DayLedger } from '../day/day.ledger.js';
import type { ScheduleService } from '../schedule/schedule.service.js';
import { BookingService } from './appointments.booking.service.js';
import { AppointmentChanges } from './appointments.changes.service.js';
import { KeyedMutex } from './appointments.mutex.js';
import { AppointmentReads } from './appointments.reads.js';
import { WaitlistService } from './appointments.waitlist.js';

export interface AppointmentsOptions {
  /** Patients may cancel or reschedule until this many minutes before the session starts. @default 0 */
  cancelCutoffMinutes: number;
  /** How long a waitlist offer holds a freed place. @default 30 */
  waitlistOfferMinutes: number;
  /** Base of the links in waitlist offers. */
  publicUrl: string;
}

export interface AppointmentsDeps {
  db: DB;
  clock: Clock;
  events: DomainEvents;
  schedule: ScheduleService;
  ledger: DayLedger;
  options: AppointmentsOptions;
}

export class AppointmentsService {
  readonly waitlist: WaitlistService;
  readonly reads: AppointmentReads;
  readonly booking: BookingService;
  readonly changes: AppointmentChanges;

  constructor(deps: AppointmentsDeps) {
    this.waitlist = new WaitlistService({
      db: deps.db,
      clock: deps.clock,
      events: deps.events,
      offerMinutes: deps.options.waitlistOfferMinutes,
      publicUrl: deps.options.publicUrl,
      resolveProfile: (principal, profileId) => this.resolveProfile(principal, profileId),
    });
    this.waitlist.subscribe();
    this.reads = new AppointmentReads({ db: deps.db });
    // Bookings and reschedules into one session day take turns together.
    const queueTurns = new KeyedMutex<{ queueId: string }>();
    this.booking = new BookingService({
      db: deps.db,
      clock: deps.clock,
      events: deps.events,
      schedule: deps.schedule,
      ledger: deps.ledger,
      queueTurns,
      reads: this.reads,
      waitlist: this.waitlist,
    });
    this.changes = new AppointmentChanges({
      db: deps.db,
      clock: deps.clock,
      events: deps.events,
      ledger: deps.ledger,
      cancelCutoffMinutes: deps.options.cancelCutoffMinutes,
      queueTurns,
      booking: this.booking,
      reads: this.reads,
    });
  }

  // ---- booking (appointments.booking.service.ts) ----

  resolveProfile(...args: Parameters<BookingService['resolveProfile']>) {
    return this.booking.resolveProfile(...args);
  }

  book(...args: Parameters<BookingService['book']>) {
    return this.booking.book(...args);
  }

  acceptOffer(...args: Parameters<BookingService['acceptOffer']>) {
    return this.booking.acceptOffer(...args);
  }

  // ---- reads (appointments.reads.ts) ----

  visible(...args: Parameters<AppointmentReads['visible']>) {
    return this.reads.visible(...args);
  }

  get(...args: Parameters<AppointmentReads['get']>) {
    return this.reads.get(...args);
  }

  list(...args: Parameters<AppointmentReads['list']>) {
    return this.reads.list(...args);
  }

  // ---- changes (appointments.changes.service.ts) ----

  cancel(...args: Parameters<AppointmentChanges['cancel']>) {
    return this.changes.cancel(...args);
  }

  confirm(...args: Parameters<AppointmentChanges['confirm']>) {
    return this.changes.confirm(...args);
  }

  reschedule(...args: Parameters<AppointmentChanges['reschedule']>) {
    return this.changes.reschedule(...args);
  }
}
