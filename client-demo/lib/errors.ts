// What the pages say when the API refuses: one plain sentence per error code (and per refusal reason), never
// the validator's text. Pages pass a context only where a sentence depends on what was being done.
import { ApiError } from './api.js';

const BY_CODE: Record<string, string> = {
  VALIDATION_FAILED: 'Some of the details are missing or not valid. Please check the form and try again.',
  UNAUTHENTICATED: 'Please sign in again to continue.',
  FORBIDDEN: 'Your account is not allowed to do this.',
  NOT_FOUND: 'We could not find that. It may have been removed.',
  CONFLICT: 'That clashes with something that already exists.',
  SESSION_FULL: 'This session is full.',
  ALREADY_BOOKED: 'This patient already has an appointment with this doctor that day.',
  INVALID_TRANSITION: 'That step is not possible for this patient right now. The list shows the latest.',
  VERSION_CONFLICT: 'The queue changed a moment ago. Look at the latest and try again.',
  QUEUE_NOT_OPEN: 'This queue is not open.',
  REQUEST_TIMEOUT: 'The server took too long to answer. Please try again.',
  PAYLOAD_TOO_LARGE: 'That file is too large.',
  URI_TOO_LONG: 'This link is not valid.',
  UNSUPPORTED_MEDIA_TYPE: 'That kind of file cannot be used here.',
  DATE_NOT_BOOKABLE: 'That date cannot be booked.',
  RATE_LIMITED: 'Too many attempts. Please wait a minute and try again.',
  HEADERS_TOO_LARGE: 'This link is not valid.',
  INTERNAL: 'Something went wrong on our side. Please try again.',
  UNAVAILABLE: 'The service is busy or down for a moment. Please try again shortly.',
  NETWORK: 'The server cannot be reached. Check the connection and try again.',
};

const NOT_BOOKABLE: Record<string, string> = {
  past: 'That date has already passed.',
  not_session_day: 'The doctor does not sit on that day.',
  outside_validity: 'This session does not run on that date.',
  time_off: 'The doctor is away on that date.',
  not_open_yet: 'Booking for that date has not opened yet.',
  booking_closed: 'Booking for this session has closed.',
  queue_closed: 'This day’s queue is closed.',
  session_pending: 'This session is not open for booking yet: the hospital has still to confirm it.',
  doctor_unverified: 'This doctor cannot be booked until their profile is verified.',
};

const CONFLICT_REASON: Record<string, string> = {
  serial_taken: 'Someone has just taken that serial. Choose another one.',
  has_room: 'A place has freed up in this session: book it instead.',
  already_waiting: 'You are already on this waitlist.',
};

/** Sentences for a field named in a 400's details, so a form can say which field is wrong. */
const FIELD: Record<string, string> = {
  hospitalId: 'Choose a hospital.',
  trackingToken: 'This tracking link is not valid.',
  serial: 'Choose one of the free serials.',
  reason: 'Choose a reason.',
  email: 'Enter a valid e-mail address.',
  password: 'The password is too short or too common.',
  phone: 'Enter a valid phone number.',
  name: 'Enter a name.',
  start: 'Enter a start time.',
  end: 'Enter an end time after the start.',
  dateOfBirth: 'Enter a real date of birth.',
  relation: 'Choose how they are related to you.',
  date: 'Choose a date.',
};

/** Sentences for this page's situation, by error code (e.g. NOT_FOUND on a tracking link). */
export type ErrorContext = Partial<Record<string, string>>;

function fieldsOf(details: unknown): string[] {
  const items = Array.isArray(details) ? details : details ? [details] : [];
  return items
    .map((d) => (d && typeof d === 'object' ? String((d as { field?: unknown }).field ?? '') : ''))
    .map((f) => f.split('.').pop() ?? '')
    .filter(Boolean);
}

/** The sentence a page shows for an error: plain words, whatever the API or the network said. */
export function errorText(err: unknown, context: ErrorContext = {}): string {
  const code = err instanceof ApiError ? err.code : (err as { code?: unknown })?.code;
  if (typeof code !== 'string') return BY_CODE.INTERNAL;
  const details = err instanceof ApiError ? err.details : undefined;
  const reason = (details as { reason?: string } | undefined)?.reason;
  if (context[code]) return context[code] as string;
  if (code === 'DATE_NOT_BOOKABLE' && reason && NOT_BOOKABLE[reason]) return NOT_BOOKABLE[reason];
  if (code === 'CONFLICT' && reason && CONFLICT_REASON[reason]) return CONFLICT_REASON[reason];
  if (code === 'VALIDATION_FAILED') {
    const sentences = [
      ...new Set(
        fieldsOf(details)
          .map((f) => FIELD[f])
          .filter(Boolean),
      ),
    ];
    if (sentences.length) return sentences.join(' ');
  }
  return BY_CODE[code] ?? BY_CODE.INTERNAL;
}
