// What the SMS provider tells us: delivery reports, and texts from patients (STOP/START/HELP, C confirms and
// X cancels their next appointment).
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import * as contextsRepo from './notifications.contexts.repository.js';
import * as preferencesRepo from './notifications.preferences.repository.js';
import * as repo from './notifications.repository.js';
import { SMS_REPLIES } from './notifications.templates.js';
import { validPhone } from './notifications.transports.js';

/** What two-way SMS needs from the booking module. */
export interface AppointmentActions {
  confirm(appointmentId: string, actorId: string | null): Promise<void>;
  cancel(appointmentId: string, actorId: string | null, reason: string): Promise<void>;
}

export interface WebhooksDeps {
  db: DB;
  clock: Clock;
  phoneRegion: string;
  appointments: AppointmentActions;
}

const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'END', 'QUIT', 'CANCEL']);
const START_WORDS = new Set(['START', 'UNSTOP', 'YES']);
const HELP_WORDS = new Set(['HELP', 'INFO']);

export class ProviderWebhooks {
  constructor(private readonly deps: WebhooksDeps) {}

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
    return repo.applyDeliveryStatus(this.deps.db, report.messageSid, mapped, error, this.deps.clock.now());
  }

  /** A text from a patient: STOP/START/HELP, C confirms and X cancels their next appointment. */
  async inboundSms(from: string, body: string): Promise<string> {
    const phone = validPhone(from, this.deps.phoneRegion) ?? from;
    const word = body.trim().toUpperCase();
    const now = this.deps.clock.now();
    if (STOP_WORDS.has(word)) {
      await preferencesRepo.optOut(this.deps.db, phone, now);
      return SMS_REPLIES.stopped;
    }
    if (START_WORDS.has(word)) {
      await preferencesRepo.optIn(this.deps.db, phone);
      return SMS_REPLIES.started;
    }
    if (HELP_WORDS.has(word)) return SMS_REPLIES.help;
    if (word === 'C' || word === 'X') {
      const next = await contextsRepo.nextAppointmentForPhone(this.deps.db, phone, now);
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
