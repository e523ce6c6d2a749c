// Account messages: a password reset's link or code, and the note to an owner whose e-mail someone tried to
// register again. Written to the outbox inside the accounts transaction that causes them, like every message;
// in the same way, a new patient account without an e-mail address gets SMS-only preferences.
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/database.js';
import type { DomainEvents, EventMap } from '../../events.js';
import * as preferencesRepo from './notifications.preferences.repository.js';
import * as repo from './notifications.repository.js';
import type { MessagePayload } from './notifications.templates.js';

export interface AccountMessagesDeps {
  events: DomainEvents;
  clock: Clock;
  publicUrl: string;
}

/** One "someone registered with your e-mail" note per account an hour, however often it is tried. */
const REPEAT_NOTE_WINDOW_MS = 3_600_000;

async function languageOf(trx: Transaction<Database>, userId: string): Promise<'en' | 'bn'> {
  return (await preferencesRepo.findPreferences(trx, userId))?.language === 'bn' ? 'bn' : 'en';
}

export function subscribeAccountMessages(deps: AccountMessagesDeps): void {
  const { events, clock, publicUrl } = deps;

  events.inTransaction('account.password_reset_requested', async (trx, e) => {
    const payload: MessagePayload =
      e.channel === 'email'
        ? { tz: 'UTC', resetUrl: resetLink(publicUrl, e), validMinutes: e.validMinutes }
        : { tz: 'UTC', code: e.secret, validMinutes: e.validMinutes };
    await repo.insertOutbox(trx, [
      {
        dedupeKey: `password_reset:${e.resetId}`,
        kind: e.channel === 'email' ? 'password_reset' : 'password_reset_code',
        channel: e.channel,
        recipient: e.recipient,
        userId: e.userId,
        appointmentId: null,
        hospitalId: null,
        language: await languageOf(trx, e.userId),
        payload: JSON.stringify(payload),
        urgent: true,
        sendAfter: clock.now(),
      },
    ]);
  });

  // However the account was opened (by the patient or at a desk): one rule for its channels.
  events.inTransaction('account.patient_registered', async (trx, e) => {
    if (e.email === null) await preferencesRepo.preferSmsOnly(trx, e.userId);
  });

  events.inTransaction('account.registration_repeated', async (trx, e) => {
    const window = Math.floor(clock.now().getTime() / REPEAT_NOTE_WINDOW_MS);
    const payload: MessagePayload = {
      tz: 'UTC',
      signInUrl: `${publicUrl}/signin`,
      resetUrl: `${publicUrl}/reset`,
    };
    await repo.insertOutbox(trx, [
      {
        dedupeKey: `registration_repeated:${e.userId}:${window}`,
        kind: 'registration_repeated',
        channel: 'email',
        recipient: e.email,
        userId: e.userId,
        appointmentId: null,
        hospitalId: null,
        language: await languageOf(trx, e.userId),
        payload: JSON.stringify(payload),
        urgent: true,
        sendAfter: clock.now(),
      },
    ]);
  });
}

function resetLink(publicUrl: string, e: EventMap['account.password_reset_requested']): string {
  return `${publicUrl}/reset?token=${encodeURIComponent(e.secret)}`;
}
