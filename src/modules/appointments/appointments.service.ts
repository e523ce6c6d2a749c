// The appointments module's parts, built once and wired together: booking (appointments.booking.service.ts),
// changes to a booking (appointments.changes.service.ts), reads (appointments.reads.ts) and the waitlist
// (appointments.waitlist.ts). Routes and other modules call the part that does the work; nothing forwards.
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import type { DomainEvents } from '../../events.js';
import type { DayBookings } from '../day/day.bookings.js';
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
  ledger: DayBookings;
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
      ledger: deps.ledger,
      schedule: deps.schedule,
      offerMinutes: deps.options.waitlistOfferMinutes,
      publicUrl: deps.options.publicUrl,
      resolveProfile: (principal, profileId) => this.booking.resolveProfile(principal, profileId),
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
      schedule: deps.schedule,
      cancelCutoffMinutes: deps.options.cancelCutoffMinutes,
      queueTurns,
      booking: this.booking,
      reads: this.reads,
    });
  }
}
