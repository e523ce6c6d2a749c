// Socket.IO handlers of the live queue: handshake auth (access token, tracking token or guest), the watch
// events with acks, payload checks, and a per-connection rate limit. Every refusal is an error ack; nothing
// a client sends can crash the process or put a socket in a room it may not be in.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Socket } from 'socket.io';
import { AppError } from '../../errors.js';
import { UUID_PATTERN } from '../../lib/schema.js';
import type { Principal } from '../../plugins/auth.js';
import type { Viewer } from './queue.access.js';
import { type RealtimeServer, rooms } from './queue.emitter.js';
import type {
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from './queue.schema.js';
import type { QueueService } from './queue.service.js';

type QueueSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type AckResult = { ok: true } & Record<string, unknown>;
type ErrorAck = { error: { code: string; message: string } };

const KNOWN_EVENTS = new Set([
  'queue:watch',
  'queue:unwatch',
  'appointment:watch',
  'appointment:unwatch',
  'hospital:watch',
]);

export interface QueueSocketOptions {
  /** Events a connection may send per second on average. @default 10 */
  ratePerSecond?: number;
  /** Burst allowance. @default 30 */
  burst?: number;
  /** Rooms (queues, appointments, hospitals) one connection may watch at once. @default 50 */
  maxRooms?: number;
}

export interface QueueSocketDeps {
  queue: QueueService;
  principalFromToken(token: string): Promise<Principal>;
  log: FastifyBaseLogger;
}

class TokenBucket {
  #tokens: number;
  #at = Date.now();
  refused = 0;
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.#tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
    if (this.#tokens < 1) {
      this.refused++;
      return false;
    }
    this.#tokens -= 1;
    return true;
  }
}

function errorAck(code: string, message: string): ErrorAck {
  return { error: { code, message } };
}

function toErrorAck(err: unknown, log: FastifyBaseLogger): ErrorAck {
  if (err instanceof AppError) return errorAck(err.code, err.message);
  log.error({ err }, 'socket handler failed');
  return errorAck('INTERNAL', 'Something went wrong');
}

function idOf(payload: unknown, field: string): string {
  const value =
    payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>)[field] : undefined;
  if (typeof value !== 'string' || !UUID_PATTERN.test(value))
    throw new AppError('VALIDATION_FAILED', `${field} must be a UUID`, { field });
  return value.toLowerCase();
}

function viewerOf(socket: QueueSocket): Viewer | null {
  return socket.data.principal;
}

/** Handshake: `{ token }` (access JWT), `{ trackingToken }`, or nothing (a guest). */
export function attachQueueSockets(
  io: RealtimeServer,
  deps: QueueSocketDeps,
  options: QueueSocketOptions = {},
) {
  const rate = options.ratePerSecond ?? 10;
  const burst = options.burst ?? 30;
  const maxRooms = options.maxRooms ?? 50;

  io.use(async (socket, next) => {
    socket.data.principal = null;
    socket.data.trackedAppointmentId = null;
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    try {
      if (auth.token !== undefined && auth.token !== null) {
        if (typeof auth.token !== 'string' || auth.token.length > 4096)
          throw new AppError('UNAUTHENTICATED', 'token must be a string');
        const principal = await deps.principalFromToken(auth.token);
        socket.data.principal = {
          id: principal.id,
          role: principal.role,
          hospitalId: principal.hospitalId,
          doctorId: principal.doctorId,
        };
      } else if (auth.trackingToken !== undefined && auth.trackingToken !== null) {
        if (typeof auth.trackingToken !== 'string' || auth.trackingToken.length > 128)
          throw new AppError('UNAUTHENTICATED', 'trackingToken must be a string');
        try {
          socket.data.trackedAppointmentId = await deps.queue.trackedAppointment(auth.trackingToken);
        } catch (err) {
          if (err instanceof AppError && err.code === 'NOT_FOUND')
            throw new AppError('UNAUTHENTICATED', 'Unknown tracking link');
          throw err;
        }
      }
      next();
    } catch (err) {
      const refusal = new Error(err instanceof AppError ? err.message : 'Handshake failed') as Error & {
        data: { code: string };
      };
      refusal.data = { code: err instanceof AppError ? err.code : 'UNAVAILABLE' };
      if (!(err instanceof AppError)) deps.log.warn({ err }, 'socket handshake failed');
      next(refusal);
    }
  });

  io.on('connection', (socket: QueueSocket) => {
    const bucket = new TokenBucket(rate, burst);
    const watched = new Set<string>();

    const handle = (event: keyof ClientToServerEvents, work: (payload: unknown) => Promise<AckResult>) => {
      (socket as unknown as Socket).on(event, async (payload: unknown, ack: unknown) => {
        const reply = typeof ack === 'function' ? (ack as (r: unknown) => void) : () => {};
        if (!bucket.take()) {
          reply(errorAck('RATE_LIMITED', 'Too many events; slow down'));
          // A client that keeps hammering after being told is cut off; it may reconnect and resync.
          if (bucket.refused > burst * 10) socket.disconnect(true);
          return;
        }
        try {
          reply(await work(payload));
        } catch (err) {
          reply(toErrorAck(err, deps.log));
        }
      });
    };

    const join = async (room: string) => {
      if (!watched.has(room) && watched.size >= maxRooms)
        throw new AppError('RATE_LIMITED', `At most ${maxRooms} watches per connection`);
      watched.add(room);
      await socket.join(room);
    };
    const leave = async (room: string) => {
      watched.delete(room);
      await socket.leave(room);
    };

    socket.onAny((event: string, ...args: unknown[]) => {
      if (KNOWN_EVENTS.has(event)) return;
      const ack = args.at(-1);
      if (!bucket.take()) return;
      if (typeof ack === 'function') ack(errorAck('VALIDATION_FAILED', 'Unknown event'));
    });

    handle('queue:watch', async (payload) => {
      const queueId = idOf(payload, 'queueId');
      const room = rooms.queue(queueId);
      const already = watched.has(room);
      // Join before reading so no update can fall between the snapshot and the subscription.
      await join(room);
      try {
        return { ok: true, ...(await deps.queue.snapshot(viewerOf(socket), queueId)) };
      } catch (err) {
        if (!already) await leave(room);
        throw err;
      }
    });

    handle('queue:unwatch', async (payload) => {
      const queueId = idOf(payload, 'queueId');
      await leave(rooms.queue(queueId));
      return { ok: true, queueId };
    });

    handle('appointment:watch', async (payload) => {
      const appointmentId = idOf(payload, 'appointmentId');
      const view = await deps.queue.watchAppointment(
        viewerOf(socket),
        socket.data.trackedAppointmentId,
        appointmentId,
      );
      await join(rooms.appointment(appointmentId));
      return { ok: true, ...view };
    });

    handle('appointment:unwatch', async (payload) => {
      const appointmentId = idOf(payload, 'appointmentId');
      await leave(rooms.appointment(appointmentId));
      return { ok: true, appointmentId };
    });

    handle('hospital:watch', async (payload) => {
      const hospitalId = idOf(payload, 'hospitalId');
      if (!deps.queue.mayWatchHospital(viewerOf(socket), hospitalId))
        throw new AppError('FORBIDDEN', 'Only staff of this hospital may follow it');
      await join(rooms.hospital(hospitalId));
      return { ok: true, hospitalId };
    });
  });
}

/** Registers the handlers on app.io once the queue service exists. */
export default fp(
  async (app: FastifyInstance, options: QueueSocketOptions) => {
    attachQueueSockets(
      app.io,
      { queue: app.queue, principalFromToken: app.principalFromToken, log: app.log },
      options,
    );
  },
  { name: 'queue-sockets', dependencies: ['realtime', 'auth'] },
);
