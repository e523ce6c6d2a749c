// Who gets which message on which channel, and when: turns an appointment's context into outbox rows.
import type { AppointmentContext, OfferContext } from './notifications.contexts.repository.js';
import type { NewOutboxRow } from './notifications.repository.js';
import type { Channel } from './notifications.table.js';
import type { Kind, MessagePayload } from './notifications.templates.js';
import { afterQuietHours, offsetLabel, type QuietHours } from './notifications.time.js';
import { validPhone } from './notifications.transports.js';

/** Never deferred by quiet hours: the patient needs them now (a waitlist offer lapses if it waits). */
export const URGENT_KINDS: ReadonlySet<string> = new Set([
  'turn_near',
  'your_turn',
  'doctor_paused',
  'waitlist_offer',
]);

/** Answers to something that just happened to the patient's own booking; an SMS opt-out does not stop them. */
export const TRANSACTIONAL_KINDS: ReadonlySet<string> = new Set([
  'confirmation',
  'reschedule',
  'cancellation',
  'doctor_cancellation',
  'turn_near',
  'your_turn',
  'doctor_paused',
  'waitlist_offer',
]);

/**
 * "Arrive by" updates go out when the live ETA slips this much past what the patient was last told; an
 * update not sent by this long after the time it names is dropped (a later queue change tells a newer one).
 */
export const ARRIVE_BY_SLIP_MS = 20 * 60_000;

/** @default reminders 24 h and 1 h before the estimated time */
export const DEFAULT_OFFSETS = [1440, 60];
export const DEFAULT_CHANNELS: Channel[] = ['sms', 'email'];
export const DEFAULT_QUIET: QuietHours = { start: '21:00', end: '08:00' };

export interface RuleOptions {
  publicUrl: string;
  phoneRegion: string;
}

function hhmm(time: string | null | undefined): string | null {
  return time ? time.slice(0, 5) : null;
}

/**
 * Whom a patient message goes to and under which preferences; an appointment's context has all of it, and so
 * does a waitlist offer's (with no appointment: `id` is null).
 */
export type PatientTarget = Pick<
  AppointmentContext,
  | 'profilePhone'
  | 'userPhone'
  | 'walkInPhone'
  | 'userEmail'
  | 'userId'
  | 'channels'
  | 'quietStart'
  | 'quietEnd'
  | 'language'
  | 'hospitalId'
  | 'hospitalQuietStart'
  | 'hospitalQuietEnd'
  | 'timezone'
> & { id: string | null };

/** The patient's own quiet hours when set, else the hospital's. */
export function quietFor(
  ctx: Pick<PatientTarget, 'quietStart' | 'quietEnd' | 'hospitalQuietStart' | 'hospitalQuietEnd'>,
): QuietHours {
  const own = hhmm(ctx.quietStart);
  const ownEnd = hhmm(ctx.quietEnd);
  if (own && ownEnd) return { start: own, end: ownEnd };
  return {
    start: hhmm(ctx.hospitalQuietStart) ?? DEFAULT_QUIET.start,
    end: hhmm(ctx.hospitalQuietEnd) ?? DEFAULT_QUIET.end,
  };
}

export function offsetsFor(ctx: AppointmentContext): number[] {
  return ctx.reminderOffsets?.map(Number) ?? DEFAULT_OFFSETS;
}

export function basePayload(ctx: AppointmentContext, trackingUrl?: string | null) {
  const quiet = quietFor(ctx);
  const payload: MessagePayload = {
    tz: ctx.timezone,
    quietStart: quiet.start,
    quietEnd: quiet.end,
    serial: ctx.serial,
    doctorName: ctx.doctorName,
    hospitalName: ctx.hospitalName,
    room: ctx.room,
    serviceName: ctx.serviceName,
    estimatedAt: new Date(ctx.estimatedAt).toISOString(),
    date: ctx.date,
  };
  const url = trackingUrl ?? ctx.trackingUrl;
  if (url) payload.trackingUrl = url;
  return payload;
}

export function trackingUrl(publicUrl: string, token: string | undefined): string | null {
  return token ? `${publicUrl}/t/${encodeURIComponent(token)}` : null;
}

interface Recipient {
  channel: Channel;
  to: string;
}

/** SMS and/or e-mail as the patient prefers; without a usable phone, e-mail only (and the reverse). */
export function patientRecipients(ctx: PatientTarget, opts: RuleOptions): Recipient[] {
  const phone = validPhone(ctx.profilePhone ?? ctx.userPhone ?? ctx.walkInPhone, opts.phoneRegion);
  const email = ctx.userEmail;
  const channels = (ctx.channels as Channel[] | null) ?? DEFAULT_CHANNELS;
  const out: Recipient[] = [];
  if (channels.includes('sms') && phone) out.push({ channel: 'sms', to: phone });
  if (channels.includes('email') && email) out.push({ channel: 'email', to: email });
  if (out.length === 0 && email) out.push({ channel: 'email', to: email });
  if (out.length === 0 && phone) out.push({ channel: 'sms', to: phone });
  return out;
}

export interface MessageSpec {
  kind: Kind;
  /** Unique per message and reason; the channel is appended. */
  dedupeKey: string;
  sendAt: Date;
  extra?: Partial<MessagePayload>;
}

/** One row per channel for the patient of `ctx`; non-urgent ones wait out quiet hours. */
export function patientRows(
  ctx: PatientTarget,
  spec: MessageSpec,
  payload: MessagePayload,
  opts: RuleOptions,
) {
  const urgent = URGENT_KINDS.has(spec.kind);
  const sendAfter = urgent
    ? spec.sendAt
    : afterQuietHours(spec.sendAt, ctx.timezone, {
        start: payload.quietStart ?? '',
        end: payload.quietEnd ?? '',
      });
  return patientRecipients(ctx, opts).map(
    (r): NewOutboxRow => ({
      dedupeKey: `${spec.dedupeKey}:${r.channel}`,
      kind: spec.kind,
      channel: r.channel,
      recipient: r.to,
      userId: ctx.userId,
      appointmentId: ctx.id,
      hospitalId: ctx.hospitalId,
      language: ctx.language ?? 'en',
      payload: JSON.stringify({ ...payload, ...spec.extra }),
      urgent,
      sendAfter,
    }),
  );
}

/** A reminder `offset` minutes before `estimatedAt`; a moved appointment's reminders get new keys. */
export function reminderSpec(
  appointmentId: string,
  offset: number,
  estimatedAt: Date,
  at: Date,
): MessageSpec {
  return {
    kind: 'reminder',
    dedupeKey: `reminder:${offsetLabel(offset)}:${appointmentId}:${estimatedAt.getTime()}`,
    sendAt: at,
    extra: { offsetMinutes: offset },
  };
}

/** A freed place held for a waitlisted patient: where to take it up, and until when. */
export function offerPayload(ctx: OfferContext, offer: { link: string; expiresAt: string }): MessagePayload {
  const quiet = quietFor(ctx);
  return {
    tz: ctx.timezone,
    quietStart: quiet.start,
    quietEnd: quiet.end,
    doctorName: ctx.doctorName,
    hospitalName: ctx.hospitalName,
    room: ctx.room,
    date: ctx.date,
    startsAt: new Date(ctx.startsAt).toISOString(),
    offerUrl: offer.link,
    offerExpiresAt: offer.expiresAt,
  };
}

/** The doctor's notice of a cancellation: e-mail, and SMS when the doctor has a valid phone. */
export function doctorRows(
  ctx: AppointmentContext,
  spec: MessageSpec,
  payload: MessagePayload,
  opts: RuleOptions,
) {
  const hospitalQuiet = {
    start: hhmm(ctx.hospitalQuietStart) ?? DEFAULT_QUIET.start,
    end: hhmm(ctx.hospitalQuietEnd) ?? DEFAULT_QUIET.end,
  };
  const sendAfter = afterQuietHours(spec.sendAt, ctx.timezone, hospitalQuiet);
  const phone = validPhone(ctx.doctorPhone, opts.phoneRegion);
  const recipients: Recipient[] = [{ channel: 'email', to: ctx.doctorEmail }];
  if (phone) recipients.push({ channel: 'sms', to: phone });
  return recipients.map(
    (r): NewOutboxRow => ({
      dedupeKey: `${spec.dedupeKey}:${r.channel}`,
      kind: spec.kind,
      channel: r.channel,
      recipient: r.to,
      userId: ctx.doctorUserId,
      appointmentId: ctx.id,
      hospitalId: ctx.hospitalId,
      language: 'en',
      payload: JSON.stringify({
        ...payload,
        quietStart: hospitalQuiet.start,
        quietEnd: hospitalQuiet.end,
        trackingUrl: undefined,
        ...spec.extra,
      }),
      urgent: false,
      sendAfter,
    }),
  );
}

/** Retry delay after `attempts` failures: exponential from 10 s, capped at 10 min, with jitter (50–100 %). */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(10_000 * 2 ** Math.max(0, attempts - 1), 600_000);
  return Math.round(base * (0.5 + random() * 0.5));
}

/** @default 8 attempts (about 10 minutes of retries at the least) before a message is 'failed' */
export const MAX_ATTEMPTS = 8;
