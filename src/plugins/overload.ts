// Overload protection: a burst waits (the database pool queues it, see db/connect.ts), a real overload is
// refused at once. Two signals answer 503 UNAVAILABLE with Retry-After before any work is done: more than
// MAX_IN_FLIGHT requests already in this process, or an event loop lagging by MAX_EVENT_LOOP_DELAY_MS
// (@fastify/under-pressure). Any other 503 (a pool wait that ran out, Redis or Postgres down) gets Retry-After too.
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

/** Seconds a client is asked to wait after a refusal for too many requests in flight. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;
/** After a lagging event loop, which under-pressure samples once a second. */
export const PRESSURE_RETRY_AFTER_SECONDS = 5;
/** After a backing service failed or the pool wait ran out. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** Two of under-pressure's one-second samples: the first may still cover the start. */
const ARMING_MS = 2000;

/** Liveness and metrics stay answerable under load: an orchestrator must not restart a busy instance. */
const EXEMPT = /^\/(health|metrics)(\?|$)/;

declare module 'fastify' {
  interface FastifyInstance {
    /** Requests this process is working on right now (exempt routes not counted). */
    inFlight(): number;
  }
}

const counted = new WeakSet<FastifyRequest>();

function overloaded(message: string, retryAfterSeconds: number): AppError {
  return new AppError('UNAVAILABLE', message, { retryAfterSeconds });
}

async function overloadPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { MAX_IN_FLIGHT, MAX_EVENT_LOOP_DELAY_MS } = opts.config;
  let inFlight = 0;
  app.decorate('inFlight', () => inFlight);

  app.addHook('onRequest', async (request, reply) => {
    if (EXEMPT.test(request.url)) return;
    if (inFlight >= MAX_IN_FLIGHT) {
      reply.header('retry-after', String(IN_FLIGHT_RETRY_AFTER_SECONDS));
      throw overloaded('The server is busy; try again shortly', IN_FLIGHT_RETRY_AFTER_SECONDS);
    }
    inFlight++;
    counted.add(request);
    // 'close' fires once whether the answer was sent or the client went away first.
    reply.raw.once('close', () => {
      if (counted.delete(request)) inFlight--;
    });
  });

  if (MAX_EVENT_LOOP_DELAY_MS > 0) {
    // The loop lags while the process starts (modules compiling, migrations): that is not load, so the check
    // counts from the first full sample after the app is ready.
    let armedAt = Number.POSITIVE_INFINITY;
    app.addHook('onReady', async () => {
      armedAt = Date.now() + ARMING_MS;
    });
    await app.register(underPressure, {
      maxEventLoopDelay: MAX_EVENT_LOOP_DELAY_MS,
      retryAfter: PRESSURE_RETRY_AFTER_SECONDS,
      pressureHandler: async (request, reply) => {
        if (EXEMPT.test(request.url) || Date.now() < armedAt) return;
        reply.header('retry-after', String(PRESSURE_RETRY_AFTER_SECONDS));
        throw overloaded('The server is overloaded; try again shortly', PRESSURE_RETRY_AFTER_SECONDS);
      },
    });
  }

  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 503 && !reply.hasHeader('retry-after'))
      reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    return payload;
  });
}

export default fp(overloadPlugin, { name: 'overload', dependencies: ['errors'] });
