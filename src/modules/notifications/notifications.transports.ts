// The ways a message leaves: Twilio SMS (the real SDK), SMTP e-mail (nodemailer), or the log.
import { randomUUID } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { createTransport, type Transporter } from 'nodemailer';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { Channel } from './notifications.table.js';

export interface OutgoingMessage {
  to: string;
  subject: string;
  text: string;
}

export interface SendResult {
  providerId: string | null;
}

export interface Transport {
  readonly channel: Channel;
  readonly name: string;
  send(message: OutgoingMessage): Promise<SendResult>;
  close?(): Promise<void> | void;
}

/** A send that failed; `retryable` false means trying again cannot help (a bad number, a refused address). */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** E.164 or null: an invalid number never reaches a provider. */
export function validPhone(input: string | null | undefined, region: string): string | null {
  if (!input) return null;
  const parsed = parsePhoneNumberFromString(input, region as CountryCode);
  return parsed?.isValid() ? parsed.number : null;
}

export interface LogSink {
  info(obj: object, msg: string): void;
}

const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)+/gu;
const URL_TEXT = /\bhttps?:\/\/[^\s<>"']+/gi;
/** A link into the app that carries its secret in the path, written without an origin. */
const SECRET_PATH =
  /\/(t|track|reset|book|feedback|invoice-pdf|feedback-links)\/[A-Za-z0-9_%~.-]*[A-Za-z0-9_%~-]/gi;
/** Tracking tokens, reset tokens, signed links: long runs of base64url characters. */
const TOKEN = /[A-Za-z0-9_-]{16,}/g;
/** Phone numbers and one-time codes: six or more digits in a row, allowing the separators people write; ISO dates are kept. */
const DIGITS = /(\p{Nd}{4}-\p{Nd}{2}-\p{Nd}{2}(?!\p{Nd}))|\+?\p{Nd}(?:[ ()-]*\p{Nd}){5,}/gu;
/** A path segment worth keeping in a logged link: a short plain word (t, track, book…), never an id or token. */
const PLAIN_SEGMENT = /^[a-z][a-z-]{0,23}$/i;

function redactUrl(text: string): string {
  // Punctuation that ends a sentence is not part of the link.
  const trail = /[.,;:!?)]+$/.exec(text)?.[0] ?? '';
  const raw = trail ? text.slice(0, -trail.length) : text;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `[link]${trail}`;
  }
  const path = url.pathname
    .split('/')
    .map((segment) => (segment === '' || PLAIN_SEGMENT.test(segment) ? segment : '[redacted]'))
    .join('/');
  const query = [...url.searchParams.keys()].map((key) => `${encodeURIComponent(key)}=[redacted]`).join('&');
  return `${url.origin}${path}${query ? `?${query}` : ''}${url.hash ? '#[redacted]' : ''}${trail}`;
}

/**
 * A message as it may be logged: links keep their origin and plain path words but lose every id, token and
 * query value; e-mail addresses, phone numbers, one-time codes and anything token-like are replaced.
 */
export function redactForLog(text: string): string {
  return text
    .replace(EMAIL, '[email]')
    .replace(URL_TEXT, redactUrl)
    .replace(SECRET_PATH, '/$1/[redacted]')
    .replace(TOKEN, '[redacted]')
    .replace(DIGITS, (_match, isoDate: string | undefined) => isoDate ?? '[number]');
}

/**
 * Prints the message: the default in the embedded mode, and a fallback in production. What it prints is
 * redacted (redactForLog) and never names the recipient: logs are read by more people than messages are.
 */
export class LogTransport implements Transport {
  readonly name = 'log';
  constructor(
    readonly channel: Channel,
    private readonly log: LogSink,
  ) {}
  async send(message: OutgoingMessage): Promise<SendResult> {
    this.log.info(
      { channel: this.channel, subject: redactForLog(message.subject), message: redactForLog(message.text) },
      'notification',
    );
    return { providerId: `log-${randomUUID()}` };
  }
}

export interface TwilioOptions {
  accountSid: string;
  authToken: string;
  from: string;
  /** Base URL replacing https://api.twilio.com (a regional proxy, or the fake server in tests). */
  apiUrl?: string;
  timeoutMs: number;
  statusCallback?: string;
  phoneRegion: string;
}

type RequestOptions<TData> = RequestClient.RequestOptions<TData>;

/**
 * The SDK's documented hook for custom HTTP: a RequestClient subclass. It only rewrites the origin of the
 * request when an API URL is configured; signing, form encoding and error mapping stay the SDK's own.
 */
class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: string | undefined,
    timeout: number,
  ) {
    super({ timeout, keepAlive: true });
  }
  override request<TData>(opts: RequestOptions<TData>) {
    if (this.baseUrl) {
      const original = new URL(opts.uri);
      const target = new URL(this.baseUrl);
      original.protocol = target.protocol;
      original.host = target.host;
      opts = { ...opts, uri: original.toString() };
    }
    return super.request<TData>(opts);
  }
}

export class TwilioTransport implements Transport {
  readonly channel = 'sms' as const;
  readonly name = 'twilio';
  readonly #client: twilio.Twilio;

  constructor(private readonly options: TwilioOptions) {
    this.#client = twilio(options.accountSid, options.authToken, {
      httpClient: new BaseUrlRequestClient(options.apiUrl, options.timeoutMs),
    });
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const to = validPhone(message.to, this.options.phoneRegion);
    if (!to) throw new TransportError('invalid phone number', false);
    try {
      const sent = await this.#client.messages.create({
        to,
        from: this.options.from,
        body: message.text,
        ...(this.options.statusCallback ? { statusCallback: this.options.statusCallback } : {}),
      });
      return { providerId: sent.sid };
    } catch (err) {
      throw twilioError(err);
    }
  }
}

/** 429 and 5xx (and network trouble) are worth retrying; other 4xx (bad number, blocked) are not. */
function twilioError(err: unknown): TransportError {
  const e = err as { status?: number; code?: number | string; message?: string };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const detail = `${status ? `HTTP ${status}` : 'network error'}${e.code ? ` (${e.code})` : ''}: ${e.message ?? String(err)}`;
  if (status === undefined || status === 429 || status >= 500) return new TransportError(detail, true);
  return new TransportError(detail, false);
}

export interface SmtpOptions {
  url: string;
  from: string;
  timeoutMs: number;
}

export class SmtpTransport implements Transport {
  readonly channel = 'email' as const;
  readonly name = 'smtp';
  readonly #mailer: Transporter;

  constructor(private readonly options: SmtpOptions) {
    const url = new URL(options.url);
    this.#mailer = createTransport({
      host: url.hostname,
      port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 587),
      secure: url.protocol === 'smtps:',
      auth: url.username
        ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
        : undefined,
      // A local relay without TLS (and the test server) is allowed; STARTTLS is used when offered.
      ignoreTLS: url.searchParams.get('ignoreTLS') === 'true',
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    try {
      const info = await this.#mailer.sendMail({
        from: this.options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
      return { providerId: info.messageId ?? null };
    } catch (err) {
      const e = err as { responseCode?: number; message?: string };
      // 5xx SMTP replies are permanent refusals; everything else (4xx, connection) may pass later.
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500;
      throw new TransportError(`SMTP: ${e.message ?? String(err)}`, !permanent);
    }
  }

  close(): void {
    this.#mailer.close();
  }
}
