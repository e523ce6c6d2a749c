// Every message text, in one place: plain text, times in the hospital's zone, English and Bengali.
import { DateTime } from 'luxon';

export const LANGUAGES = ['en', 'bn'] as const;
export type Language = (typeof LANGUAGES)[number];

export const KINDS = [
  'confirmation',
  'reschedule',
  'cancellation',
  'doctor_cancellation',
  'reminder',
  'turn_near',
  'your_turn',
  'doctor_paused',
  'arrive_by',
  'feedback_request',
  'invoice',
  'waitlist_offer',
  'password_reset',
  'password_reset_code',
  'registration_repeated',
  'notice',
] as const;
export type Kind = (typeof KINDS)[number];

/** What a message needs to be rendered later, stored as the outbox row's payload. */
export interface MessagePayload {
  /** The hospital's IANA zone: every time in the text is shown in it. */
  tz: string;
  quietStart?: string;
  quietEnd?: string;
  serial?: number;
  doctorName?: string;
  hospitalName?: string;
  room?: string | null;
  serviceName?: string | null;
  patientName?: string | null;
  /** ISO instant the patient was told (estimate, reminder target, new ETA). */
  estimatedAt?: string;
  date?: string;
  trackingUrl?: string;
  reason?: string;
  position?: number;
  notice?: string | null;
  until?: string | null;
  /** An amount with its currency, e.g. 'BDT 500.00'. */
  fee?: string;
  invoiceNumber?: string;
  /** The invoice PDF's signed link (no sign-in). */
  invoiceUrl?: string;
  /** The feedback page's single-use link. */
  feedbackUrl?: string;
  offsetMinutes?: number;
  /** When the session of a waitlist offer starts (ISO instant). */
  startsAt?: string;
  /** Where a waitlist offer is taken up. */
  offerUrl?: string;
  /** Until when a waitlist offer holds the place (ISO instant). */
  offerExpiresAt?: string;
  /** Where a password is reset (password_reset) and where one signs in (registration_repeated). */
  resetUrl?: string;
  signInUrl?: string;
  /** A password reset SMS code. */
  code?: string;
  /** How long a reset link or code works. */
  validMinutes?: number;
  text?: string;
}

export interface Rendered {
  subject: string;
  text: string;
}

/** 'BDT 1,500.00': the currency code and the amount with two decimals. */
export function formatMoney(currency: string, amount: number): string {
  return `${currency} ${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function when(iso: string | undefined, p: MessagePayload, lang: Language): string {
  if (!iso) return '';
  const at = DateTime.fromISO(iso, { zone: p.tz }).setLocale(lang === 'bn' ? 'bn' : 'en-GB');
  return at.toFormat(lang === 'bn' ? 'd MMMM, h:mm a' : 'EEE d MMM, HH:mm');
}

function clock(iso: string | null | undefined, p: MessagePayload, lang: Language): string {
  if (!iso) return '';
  return DateTime.fromISO(iso, { zone: p.tz })
    .setLocale(lang === 'bn' ? 'bn' : 'en-GB')
    .toFormat(lang === 'bn' ? 'h:mm a' : 'HH:mm');
}

function room(p: MessagePayload, lang: Language): string {
  if (!p.room) return '';
  return lang === 'bn' ? `, কক্ষ ${p.room}` : `, room ${p.room}`;
}

function link(p: MessagePayload, lang: Language): string {
  if (!p.trackingUrl) return '';
  return lang === 'bn' ? ` লাইভ অবস্থা: ${p.trackingUrl}` : ` Live status: ${p.trackingUrl}`;
}

const EN: Record<Kind, (p: MessagePayload) => Rendered> = {
  confirmation: (p) => ({
    subject: `Appointment booked: serial ${p.serial} with ${p.doctorName}`,
    text:
      `CareQueue: booked${p.serviceName ? ` ${p.serviceName}` : ''} with ${p.doctorName} at ${p.hospitalName}` +
      `${room(p, 'en')}. Serial ${p.serial}, about ${when(p.estimatedAt, p, 'en')}.${link(p, 'en')}` +
      ' Reply C to confirm, X to cancel.',
  }),
  reschedule: (p) => ({
    subject: `Appointment moved: serial ${p.serial} with ${p.doctorName}`,
    text:
      `CareQueue: your appointment with ${p.doctorName} at ${p.hospitalName} is now serial ${p.serial}, ` +
      `about ${when(p.estimatedAt, p, 'en')}${room(p, 'en')}.${link(p, 'en')}`,
  }),
  cancellation: (p) => ({
    subject: `Appointment cancelled: ${p.doctorName}, ${p.date}`,
    text:
      `CareQueue: your appointment (serial ${p.serial}) with ${p.doctorName} at ${p.hospitalName} on ` +
      `${when(p.estimatedAt, p, 'en')} is cancelled${p.reason ? `: ${p.reason}` : '.'}`,
  }),
  doctor_cancellation: (p) => ({
    subject: `Cancelled: serial ${p.serial} on ${p.date}`,
    text:
      `CareQueue: serial ${p.serial} (${when(p.estimatedAt, p, 'en')}) at ${p.hospitalName} was cancelled` +
      `${p.reason ? `: ${p.reason}` : '.'}`,
  }),
  reminder: (p) => ({
    subject: `Reminder: ${p.doctorName} at ${clock(p.estimatedAt, p, 'en')}`,
    text:
      `CareQueue reminder: serial ${p.serial} with ${p.doctorName} at ${p.hospitalName}${room(p, 'en')}, ` +
      `about ${when(p.estimatedAt, p, 'en')}.${link(p, 'en')} Reply C to confirm, X to cancel.`,
  }),
  turn_near: (p) => ({
    subject: `Almost your turn: serial ${p.serial}`,
    text: `CareQueue: ${p.position} ahead of you (serial ${p.serial}) for ${p.doctorName}${room(p, 'en')}. Please be ready.`,
  }),
  your_turn: (p) => ({
    subject: `It is your turn: serial ${p.serial}`,
    text: `CareQueue: it is your turn now, serial ${p.serial}. Please go to ${p.doctorName}${room(p, 'en')}.`,
  }),
  doctor_paused: (p) => ({
    subject: `${p.doctorName} is delayed`,
    text:
      `CareQueue: ${p.doctorName} at ${p.hospitalName} has paused the queue` +
      `${p.until ? ` until ${clock(p.until, p, 'en')}` : ''}${p.notice ? `: ${p.notice}` : '.'} Your serial ${p.serial} stays.`,
  }),
  arrive_by: (p) => ({
    subject: `New time: serial ${p.serial}`,
    text: `CareQueue: the queue for ${p.doctorName} has moved. Please arrive by ${clock(p.estimatedAt, p, 'en')} (serial ${p.serial}).${link(p, 'en')}`,
  }),
  feedback_request: (p) => ({
    subject: `How was your visit with ${p.doctorName}?`,
    text:
      `CareQueue: thank you for visiting ${p.doctorName}. Tell us how it went` +
      `${p.feedbackUrl ? `: ${p.feedbackUrl}` : ' in the app.'}`,
  }),
  invoice: (p) => ({
    subject: `Invoice ${p.invoiceNumber ?? ''}: ${p.fee} for your visit`,
    text:
      `CareQueue: invoice ${p.invoiceNumber ?? ''} for your visit with ${p.doctorName} at ${p.hospitalName} on ` +
      `${p.date}: ${p.fee}.${p.invoiceUrl ? ` PDF: ${p.invoiceUrl}` : ' The invoice is in the app.'}`,
  }),
  waitlist_offer: (p) => ({
    subject: `A place opened with ${p.doctorName}`,
    text:
      `CareQueue: a place opened with ${p.doctorName} at ${p.hospitalName}${room(p, 'en')}, ` +
      `${when(p.startsAt, p, 'en')}. It is held for you until ${when(p.offerExpiresAt, p, 'en')}. ` +
      `Book it: ${p.offerUrl}`,
  }),
  password_reset: (p) => ({
    subject: 'Reset your CareQueue password',
    text:
      `CareQueue: to choose a new password, open ${p.resetUrl} within ${p.validMinutes} minutes. ` +
      'The link works once. If you did not ask for this, ignore this message: your password stays as it is.',
  }),
  password_reset_code: (p) => ({
    subject: 'CareQueue password reset code',
    text: `CareQueue: your password reset code is ${p.code}. It works once, for ${p.validMinutes} minutes. Do not share it.`,
  }),
  registration_repeated: (p) => ({
    subject: 'Someone tried to register with your e-mail address',
    text:
      'CareQueue: someone tried to create an account with this e-mail address, which already has one. ' +
      `If it was you, sign in at ${p.signInUrl} or reset your password at ${p.resetUrl}. ` +
      'If not, you need do nothing: no new account was created.',
  }),
  notice: (p) => ({ subject: 'CareQueue', text: p.text ?? '' }),
};

const BN: Record<Kind, (p: MessagePayload) => Rendered> = {
  confirmation: (p) => ({
    subject: `অ্যাপয়েন্টমেন্ট নিশ্চিত: সিরিয়াল ${p.serial}, ${p.doctorName}`,
    text:
      `CareQueue: ${p.hospitalName}-এ ${p.doctorName}-এর কাছে আপনার সিরিয়াল ${p.serial}${room(p, 'bn')}, ` +
      `আনুমানিক ${when(p.estimatedAt, p, 'bn')}।${link(p, 'bn')} নিশ্চিত করতে C, বাতিল করতে X লিখুন।`,
  }),
  reschedule: (p) => ({
    subject: `অ্যাপয়েন্টমেন্ট পরিবর্তন: সিরিয়াল ${p.serial}`,
    text: `CareQueue: ${p.doctorName}-এর কাছে আপনার নতুন সিরিয়াল ${p.serial}, আনুমানিক ${when(p.estimatedAt, p, 'bn')}${room(p, 'bn')}।${link(p, 'bn')}`,
  }),
  cancellation: (p) => ({
    subject: `অ্যাপয়েন্টমেন্ট বাতিল: ${p.doctorName}`,
    text: `CareQueue: ${when(p.estimatedAt, p, 'bn')}-এ ${p.doctorName}-এর কাছে আপনার অ্যাপয়েন্টমেন্ট (সিরিয়াল ${p.serial}) বাতিল হয়েছে${p.reason ? `: ${p.reason}` : '।'}`,
  }),
  doctor_cancellation: (p) => ({
    subject: `বাতিল: সিরিয়াল ${p.serial}`,
    text: `CareQueue: ${when(p.estimatedAt, p, 'bn')}-এর সিরিয়াল ${p.serial} বাতিল হয়েছে${p.reason ? `: ${p.reason}` : '।'}`,
  }),
  reminder: (p) => ({
    subject: `স্মরণ করিয়ে দিচ্ছি: ${p.doctorName}`,
    text: `CareQueue: ${p.hospitalName}-এ ${p.doctorName}-এর কাছে আপনার সিরিয়াল ${p.serial}${room(p, 'bn')}, আনুমানিক ${when(p.estimatedAt, p, 'bn')}।${link(p, 'bn')}`,
  }),
  turn_near: (p) => ({
    subject: `আপনার পালা প্রায় এসে গেছে: সিরিয়াল ${p.serial}`,
    text: `CareQueue: আপনার আগে আর ${p.position} জন (সিরিয়াল ${p.serial})। অনুগ্রহ করে প্রস্তুত থাকুন।`,
  }),
  your_turn: (p) => ({
    subject: `এখন আপনার পালা: সিরিয়াল ${p.serial}`,
    text: `CareQueue: এখন আপনার পালা, সিরিয়াল ${p.serial}। ${p.doctorName}-এর কাছে যান${room(p, 'bn')}।`,
  }),
  doctor_paused: (p) => ({
    subject: `${p.doctorName} দেরি করছেন`,
    text: `CareQueue: ${p.doctorName} সারি সাময়িক বন্ধ রেখেছেন${p.until ? `, ${clock(p.until, p, 'bn')} পর্যন্ত` : ''}${p.notice ? `: ${p.notice}` : '।'} আপনার সিরিয়াল ${p.serial} ঠিক থাকবে।`,
  }),
  arrive_by: (p) => ({
    subject: `নতুন সময়: সিরিয়াল ${p.serial}`,
    text: `CareQueue: সারি পিছিয়েছে। অনুগ্রহ করে ${clock(p.estimatedAt, p, 'bn')}-এর মধ্যে আসুন (সিরিয়াল ${p.serial})।${link(p, 'bn')}`,
  }),
  feedback_request: (p) => ({
    subject: `${p.doctorName}-এর কাছে আপনার অভিজ্ঞতা কেমন ছিল?`,
    text:
      `CareQueue: ${p.doctorName}-এর কাছে আসার জন্য ধন্যবাদ। ` +
      `${p.feedbackUrl ? `আপনার মতামত জানান: ${p.feedbackUrl}` : 'অ্যাপে আপনার মতামত জানান।'}`,
  }),
  invoice: (p) => ({
    subject: `ইনভয়েস ${p.invoiceNumber ?? ''}: ${p.fee}`,
    text:
      `CareQueue: ${p.date} তারিখে ${p.doctorName}-এর কাছে আপনার ইনভয়েস ${p.invoiceNumber ?? ''}: ${p.fee}।` +
      `${p.invoiceUrl ? ` PDF: ${p.invoiceUrl}` : ' ইনভয়েস অ্যাপে আছে।'}`,
  }),
  waitlist_offer: (p) => ({
    subject: `${p.doctorName}-এর কাছে একটি জায়গা খালি হয়েছে`,
    text:
      `CareQueue: ${p.hospitalName}-এ ${p.doctorName}-এর কাছে ${when(p.startsAt, p, 'bn')}${room(p, 'bn')} একটি জায়গা খালি হয়েছে। ` +
      `${when(p.offerExpiresAt, p, 'bn')} পর্যন্ত আপনার জন্য রাখা আছে। বুক করুন: ${p.offerUrl}`,
  }),
  password_reset: (p) => ({
    subject: 'আপনার CareQueue পাসওয়ার্ড রিসেট করুন',
    text:
      `CareQueue: নতুন পাসওয়ার্ড বেছে নিতে ${p.validMinutes} মিনিটের মধ্যে ${p.resetUrl} খুলুন। লিংকটি একবারই কাজ করবে। ` +
      'আপনি অনুরোধ না করে থাকলে এই বার্তাটি উপেক্ষা করুন।',
  }),
  password_reset_code: (p) => ({
    subject: 'CareQueue পাসওয়ার্ড রিসেট কোড',
    text: `CareQueue: আপনার পাসওয়ার্ড রিসেট কোড ${p.code}। এটি ${p.validMinutes} মিনিট, একবারই কাজ করবে। কাউকে জানাবেন না।`,
  }),
  registration_repeated: (p) => ({
    subject: 'আপনার ই-মেইল দিয়ে কেউ নিবন্ধনের চেষ্টা করেছে',
    text:
      'CareQueue: এই ই-মেইল দিয়ে কেউ নতুন অ্যাকাউন্ট খোলার চেষ্টা করেছে, কিন্তু এটির অ্যাকাউন্ট আগেই আছে। ' +
      `আপনি হলে ${p.signInUrl}-এ সাইন ইন করুন বা ${p.resetUrl}-এ পাসওয়ার্ড রিসেট করুন। নতুন কোনো অ্যাকাউন্ট খোলা হয়নি।`,
  }),
  notice: (p) => ({ subject: 'CareQueue', text: p.text ?? '' }),
};

const TEMPLATES: Record<Language, Record<Kind, (p: MessagePayload) => Rendered>> = { en: EN, bn: BN };

/** Renders one message; an unknown kind or language falls back to the English notice. */
export function renderMessage(kind: string, language: string, payload: MessagePayload): Rendered {
  const table =
    TEMPLATES[(LANGUAGES as readonly string[]).includes(language) ? (language as Language) : 'en'];
  const template = table[kind as Kind] ?? table.notice;
  return template(payload);
}

/** The SMS keyword replies (two-way SMS). */
export const SMS_REPLIES = {
  help: 'CareQueue: reply C to confirm your next appointment, X to cancel it, STOP to stop reminders, START to resume.',
  stopped: 'CareQueue: you will get no more reminders. Reply START to resume.',
  started: 'CareQueue: reminders are back on. Reply STOP to stop.',
  confirmed: (serial: number) => `CareQueue: confirmed, serial ${serial}. See you soon.`,
  cancelled: (serial: number) => `CareQueue: your appointment (serial ${serial}) is cancelled.`,
  none: 'CareQueue: we found no upcoming appointment for this number.',
} as const;
