// A fake Twilio REST API on port 0: the Messages endpoint the real SDK calls, form encoded like Twilio, with
// recorded requests, failure modes on demand (5xx, 429, hanging requests) and signed status callbacks.
import { randomBytes } from 'node:crypto';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import twilio from 'twilio';

export const FAKE_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const FAKE_TOKEN = 'fake-twilio-auth-token';
export const FAKE_FROM = '+15005550006';

export interface RecordedMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  statusCallback?: string;
  at: number;
}

export type FailureMode = 'none' | 500 | 429 | 'timeout';

export class FakeTwilio {
  readonly messages: RecordedMessage[] = [];
  /** Every request that reached the endpoint, failed or not. */
  requests = 0;
  mode: FailureMode = 'none';
  /** Fail only the next N requests (then back to `mode`). */
  failNext = 0;
  failNextWith: Exclude<FailureMode, 'none'> = 500;
  #hanging = new Set<() => void>();

  private constructor(
    readonly server: FastifyInstance,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeTwilio> {
    const server = Fastify({ logger: false });
    await server.register(formbody);
    const fake: { current?: FakeTwilio } = {};
    server.post<{ Params: { sid: string }; Body: Record<string, string> }>(
      '/2010-04-01/Accounts/:sid/Messages.json',
      async (request, reply) =>
        fake.current?.handle(request.params.sid, request.headers.authorization, request.body, reply),
    );
    const address = await server.listen({ port: 0, host: '127.0.0.1' });
    fake.current = new FakeTwilio(server, address);
    return fake.current;
  }

  private async handle(
    sid: string,
    authorization: string | undefined,
    body: Record<string, string>,
    reply: import('fastify').FastifyReply,
  ) {
    this.requests++;
    const expected = `Basic ${Buffer.from(`${FAKE_SID}:${FAKE_TOKEN}`).toString('base64')}`;
    if (authorization !== expected || sid !== FAKE_SID)
      return reply.status(401).send({ code: 20003, message: 'Authenticate', status: 401 });
    let failure: FailureMode = this.mode;
    if (this.failNext > 0) {
      this.failNext--;
      failure = this.failNextWith;
    }
    if (failure === 'timeout') {
      // Never answers: the client's timeout has to give up. Released when the fake stops.
      await new Promise<void>((resolve) => this.#hanging.add(resolve));
      return reply.status(503).send({ code: 20503, message: 'Service unavailable', status: 503 });
    }
    if (failure === 500)
      return reply.status(500).send({ code: 20500, message: 'Internal Server Error', status: 500 });
    if (failure === 429)
      return reply.status(429).send({ code: 20429, message: 'Too Many Requests', status: 429 });
    if (!/^\+[1-9]\d{6,14}$/.test(body.To ?? ''))
      return reply.status(400).send({
        code: 21211,
        message: `The 'To' number ${body.To} is not a valid phone number.`,
        status: 400,
      });
    const message: RecordedMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      to: body.To,
      from: body.From,
      body: body.Body,
      statusCallback: body.StatusCallback,
      at: Date.now(),
    };
    this.messages.push(message);
    return reply.status(201).send({
      sid: message.sid,
      account_sid: FAKE_SID,
      to: message.to,
      from: message.from,
      body: message.body,
      status: 'queued',
      num_segments: '1',
      direction: 'outbound-api',
      date_created: new Date().toUTCString(),
      uri: `/2010-04-01/Accounts/${FAKE_SID}/Messages/${message.sid}.json`,
    });
  }

  /**
   * Posts a status callback for a sent message the way Twilio does: form encoded, signed with
   * X-Twilio-Signature over the callback URL it was given. `deliverTo` replaces that URL's origin (the app
   * listens on a local port while PUBLIC_URL names its public address).
   */
  async postStatus(
    message: RecordedMessage,
    status: string,
    deliverTo: string,
    extra: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    if (!message.statusCallback) throw new Error('message had no StatusCallback');
    const params = {
      MessageSid: message.sid,
      MessageStatus: status,
      AccountSid: FAKE_SID,
      To: message.to,
      ...extra,
    };
    const signature = twilio.getExpectedTwilioSignature(FAKE_TOKEN, message.statusCallback, params);
    const target = new URL(message.statusCallback);
    const local = new URL(deliverTo);
    target.protocol = local.protocol;
    target.host = local.host;
    const response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
    });
    return { status: response.status, body: await response.text() };
  }

  reset(): void {
    this.messages.length = 0;
    this.requests = 0;
    this.mode = 'none';
    this.failNext = 0;
  }

  async stop(): Promise<void> {
    for (const release of this.#hanging) release();
    this.#hanging.clear();
    await this.server.close();
  }
}

/** The signature Twilio would send for a webhook to `url` with these form params. */
export function twilioSignature(url: string, params: Record<string, string>, token = FAKE_TOKEN): string {
  return twilio.getExpectedTwilioSignature(token, url, params);
}

/** Environment pointing the app's real Twilio SDK at the fake. */
export function twilioEnv(fake: FakeTwilio): Record<string, string> {
  return {
    NOTIFY_SMS: 'twilio',
    TWILIO_ACCOUNT_SID: FAKE_SID,
    TWILIO_AUTH_TOKEN: FAKE_TOKEN,
    TWILIO_FROM: FAKE_FROM,
    TWILIO_API_URL: fake.url,
  };
}
