// Socket.IO handlers of the live queue: handshake auth (access token, tracking token or guest), the watch
// events with acks, payload checks, and a per-connection rate limit. Every refusal is an error ack; nothing
// a client sends can crash the process or put a socket in a room it may not be in.
//
// Rights follow the account, not the handshake: each privileged event re-reads the account, a changed or
// disabled account (on any instance) and an expired access token drop the rooms it no longer may be in, and
// `auth:refresh` renews the token. Per socket the server keeps only a few numbers on socket.data and its
// rooms: every handler below is shared by all sockets (one onAny dispatcher), none is a closure per socket.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Socket } from 'socket.io';
import type { Clock } from '../../clock.js';
import { AppError } from '../../errors.js';
import { UUID_PATTERN } from '../../lib/schema.js';
import type { Principal } from '../../plugins/auth.js';
import { isConnectionError } from '../../plugins/errors.js';
import { canManage, mayWatchHospital, type Viewer } from './queue.access.js';
import { type RealtimeServer, rooms } from './queue.emitter.js';
import type {
  AuthChanged,
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from './queue.schema.js';
import type { QueueService } from './queue.service.js';

type QueueSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type AckResult = { ok: true } & Record<string, unknown>;
type ErrorAck = { error: { code: string; message: string } };
type Handler = (socket: QueueSocket, payload: unknown) => Promise<AckResult>;

export interface QueueSocketOptions {
  /** Events a connection may send per second on average. @default 10 */
  ratePerSecond?: number;
  /** Burst allowance. @default 30 */
  burst?: number;
  /** Rooms (queues, appointments, hospitals) one connection may watch at once. @default 50 */
  maxRooms?: number;
  /** How often sockets whose access token expired are turned into guests. @default 5000 */
  expirySweepMs?: number;
}

export interface QueueSocketDeps {
  queue: QueueService;
  accessFromToken(token: string): Promise<{ principal: Principal; expiresAt: number }>;
  principalById(id: string): Promise<Principal | null>;
  clock: Clock;
  log: FastifyBaseLogger;
  /** Relay account changes to the other instances (a shared adapter); false with the in-memory adapter. */
  crossInstance: boolean;
}

export interface QueueSockets {
  /** Re-checks every socket of this account, on this instance and (crossInstance) on the others. */
  accountChanged(userId: string): Promise<void>;
  close(): void;
}

const NO_AUTH = Object.freeze({});

function errorAck(code: string, message: string): ErrorAck {
  return { error: { code, message } };
}

function toErrorAck(err: unknown, log: FastifyBaseLogger): ErrorAck {
  if (err instanceof AppError) return errorAck(err.code, err.message);
  if (isConnectionError(err)) {
    log.warn({ err }, 'socket handler: a backing service is unavailable');
    return errorAck('UNAVAILABLE', 'A backing service is unavailable; try again shortly');
  }
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

/** The id inside a room name `<prefix><id><suffix>`, or null when the room is not of that kind. */
function idIn(room: string, prefix: string, suffix = ''): string | null {
  if (!room.startsWith(prefix) || !room.endsWith(suffix)) return null;
  const id = room.slice(prefix.length, room.length - suffix.length);
  return UUID_PATTERN.test(id) ? id : null;
}

const staffQueueOf = (room: string) => idIn(room, 'queue:', ':staff');

/** Handshake: `{ token }` (access JWT), `{ trackingToken }`, or nothing (a guest). */
export function attachQueueSockets(
  io: RealtimeServer,
  deps: QueueSocketDeps,
  options: QueueSocketOptions = {},
): QueueSockets {
  const rate = options.ratePerSecond ?? 10;
  const burst = options.burst ?? 30;
  const maxRooms = options.maxRooms ?? 50;
  const sockets = io.of('/').sockets;

  /** Token bucket on socket.data's numbers (wall time: a rate limit is not domain time). */
  const take = (data: SocketData): boolean => {
    const now = Date.now();
    data.tokens = Math.min(burst, data.tokens + ((now - data.refilledAt) / 1000) * rate);
    data.refilledAt = now;
    if (data.tokens < 1) {
      data.refused++;
      return false;
    }
    data.tokens -= 1;
    return true;
  };

  const watchCount = (socket: QueueSocket): number => {
    let n = 0;
    for (const room of socket.rooms) if (room !== socket.id && !room.startsWith('user:')) n++;
    return n;
  };

  const join = async (socket: QueueSocket, room: string) => {
    // A socket that went away during an await must not be put back into a room (the adapter would keep it).
    if (!socket.connected) throw new AppError('UNAVAILABLE', 'The connection closed');
    if (!socket.rooms.has(room) && watchCount(socket) >= maxRooms)
      throw new AppError('RATE_LIMITED', `At most ${maxRooms} watches per connection`);
    await socket.join(room);
  };

  /** The socket becomes a guest: staff queue rooms turn into the guest rooms, the rest of its rights go. */
  const demote = async (socket: QueueSocket, reason: AuthChanged['reason']) => {
    socket.data.userId = null;
    socket.data.expiresAt = null;
    if (!socket.connected) return;
    const tracked = socket.data.trackedAppointmentId;
    for (const room of [...socket.rooms]) {
      const queueId = staffQueueOf(room);
      if (queueId) {
        await socket.leave(room);
        await socket.join(rooms.queue(queueId));
      } else if (room.startsWith('hospital:') || room.startsWith('user:')) {
        await socket.leave(room);
      } else if (room.startsWith('appointment:') && (!tracked || room !== rooms.appointment(tracked))) {
        await socket.leave(room);
      }
    }
    socket.emit('auth:changed', { reason, role: null });
  };

  /** Drops the rooms `principal` may no longer be in; true when any went. */
  const review = async (socket: QueueSocket, principal: Principal): Promise<boolean> => {
    let dropped = false;
    const tracked = socket.data.trackedAppointmentId;
    for (const room of [...socket.rooms]) {
      if (!socket.connected) return dropped;
      const queueId = staffQueueOf(room);
      if (queueId) {
        const context = await deps.queue.reads.context(queueId).catch(() => null);
        if (context && principal.role !== 'patient' && canManage(principal, context)) continue;
        await socket.leave(room);
        await socket.join(rooms.queue(queueId));
        dropped = true;
        continue;
      }
      const hospitalId = idIn(room, 'hospital:');
      if (hospitalId) {
        if (mayWatchHospital(principal, hospitalId)) continue;
        await socket.leave(room);
        dropped = true;
        continue;
      }
      const appointmentId = idIn(room, 'appointment:');
      if (appointmentId && appointmentId !== tracked) {
        const allowed = await deps.queue
          .watchAppointment(principal, tracked, appointmentId)
          .then(() => true)
          .catch(() => false);
        if (allowed) continue;
        await socket.leave(room);
        dropped = true;
      }
    }
    return dropped;
  };

  /** The live account behind a socket, re-read now; null (and the socket made a guest) when it has none. */
  const viewerOf = async (socket: QueueSocket): Promise<Viewer | null> => {
    const { userId, expiresAt } = socket.data;
    if (userId === null) return null;
    if (expiresAt !== null && expiresAt <= deps.clock.now().getTime()) {
      await demote(socket, 'expired');
      return null;
    }
    const principal = await deps.principalById(userId);
    if (!principal) {
      await demote(socket, 'disabled');
      return null;
    }
    return principal;
  };

  const reviewLocal = async (userId: string) => {
    const ids = io.of('/').adapter.rooms.get(rooms.user(userId));
    if (!ids || ids.size === 0) return;
    const principal = await deps.principalById(userId);
    for (const id of [...ids]) {
      const socket = sockets.get(id);
      if (!socket || socket.data.userId !== userId) continue;
      if (!principal) await demote(socket, 'disabled');
      else if (await review(socket, principal))
        socket.emit('auth:changed', { reason: 'changed', role: principal.role });
    }
  };

  const handlers = new Map<string, Handler>([
    [
      'queue:watch',
      async (socket, payload) => {
        const queueId = idOf(payload, 'queueId');
        const viewer = await viewerOf(socket);
        const staff =
          viewer !== null &&
          viewer.role !== 'patient' &&
          canManage(viewer, await deps.queue.reads.context(queueId));
        const room = staff ? rooms.queueStaff(queueId) : rooms.queue(queueId);
        const other = staff ? rooms.queue(queueId) : rooms.queueStaff(queueId);
        const already = socket.rooms.has(room) || socket.rooms.has(other);
        if (socket.rooms.has(other)) await socket.leave(other);
        // Join before reading so no update can fall between the snapshot and the subscription.
        await join(socket, room);
        try {
          return { ok: true, ...(await deps.queue.snapshot(viewer, queueId)) };
        } catch (err) {
          if (!already) await socket.leave(room);
          throw err;
        }
      },
    ],
    [
      'queue:unwatch',
      async (socket, payload) => {
        const queueId = idOf(payload, 'queueId');
        await socket.leave(rooms.queue(queueId));
        await socket.leave(rooms.queueStaff(queueId));
        return { ok: true, queueId };
      },
    ],
    [
      'appointment:watch',
      async (socket, payload) => {
        const appointmentId = idOf(payload, 'appointmentId');
        const viewer = await viewerOf(socket);
        const view = await deps.queue.watchAppointment(
          viewer,
          socket.data.trackedAppointmentId,
          appointmentId,
        );
        await join(socket, rooms.appointment(appointmentId));
        return { ok: true, ...view };
      },
    ],
    [
      'appointment:unwatch',
      async (socket, payload) => {
        const appointmentId = idOf(payload, 'appointmentId');
        await socket.leave(rooms.appointment(appointmentId));
        return { ok: true, appointmentId };
      },
    ],
    [
      'hospital:watch',
      async (socket, payload) => {
        const hospitalId = idOf(payload, 'hospitalId');
        if (!mayWatchHospital(await viewerOf(socket), hospitalId))
          throw new AppError('FORBIDDEN', 'Only staff of this hospital may follow it');
        await join(socket, rooms.hospital(hospitalId));
        return { ok: true, hospitalId };
      },
    ],
    [
      'auth:refresh',
      async (socket, payload) => {
        const token =
          payload !== null && typeof payload === 'object' ? (payload as Record<string, unknown>).token : null;
        if (typeof token !== 'string' || token.length > 4096)
          throw new AppError('VALIDATION_FAILED', 'token must be a string', { field: 'token' });
        const { principal, expiresAt } = await deps.accessFromToken(token);
        if (socket.data.userId !== null && socket.data.userId !== principal.id)
          await demote(socket, 'changed');
        socket.data.userId = principal.id;
        socket.data.expiresAt = expiresAt;
        if (socket.connected) await socket.join(rooms.user(principal.id));
        if (await review(socket, principal))
          socket.emit('auth:changed', { reason: 'changed', role: principal.role });
        return { ok: true, role: principal.role, expiresAt: new Date(expiresAt).toISOString() };
      },
    ],
  ]);

  // One dispatcher for every socket and event: `this` is the socket (Socket.IO calls any-listeners so).
  function dispatch(this: QueueSocket, event: string, ...args: unknown[]): void {
    const last = args.at(-1);
    const reply = typeof last === 'function' ? (last as (r: unknown) => void) : undefined;
    const payload = args[0] === last && reply ? undefined : args[0];
    if (!take(this.data)) {
      reply?.(errorAck('RATE_LIMITED', 'Too many events; slow down'));
      // A client that keeps hammering after being told is cut off; it may reconnect and resync.
      if (this.data.refused > burst * 10) this.disconnect(true);
      return;
    }
    const handler = handlers.get(event);
    if (!handler) {
      reply?.(errorAck('VALIDATION_FAILED', 'Unknown event'));
      return;
    }
    handler(this, payload).then(
      (result) => reply?.(result),
      (err) => reply?.(toErrorAck(err, deps.log)),
    );
  }

  io.use(async (socket, next) => {
    const data = socket.data;
    data.userId = null;
    data.expiresAt = null;
    data.trackedAppointmentId = null;
    data.tokens = burst;
    data.refilledAt = Date.now();
    data.refused = 0;
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    // Credentials are read once; the socket does not carry them for its lifetime.
    socket.handshake.auth = NO_AUTH;
    try {
      if (auth.token !== undefined && auth.token !== null) {
        if (typeof auth.token !== 'string' || auth.token.length > 4096)
          throw new AppError('UNAUTHENTICATED', 'token must be a string');
        const { principal, expiresAt } = await deps.accessFromToken(auth.token);
        data.userId = principal.id;
        data.expiresAt = expiresAt;
      } else if (auth.trackingToken !== undefined && auth.trackingToken !== null) {
        if (typeof auth.trackingToken !== 'string' || auth.trackingToken.length > 128)
          throw new AppError('UNAUTHENTICATED', 'trackingToken must be a string');
        try {
          data.trackedAppointmentId = await deps.queue.trackedAppointment(auth.trackingToken);
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
    socket.onAny(dispatch);
    if (socket.data.userId !== null) void socket.join(rooms.user(socket.data.userId));
  });

  io.on('account:changed', (userId: string) => {
    reviewLocal(userId).catch((err) => deps.log.error({ err }, 'socket account review failed'));
  });

  // Expired access tokens: one timer for the whole server, reading the injected clock.
  const sweep = setInterval(() => {
    const now = deps.clock.now().getTime();
    for (const socket of sockets.values()) {
      const { expiresAt } = socket.data;
      if (expiresAt !== null && expiresAt <= now)
        demote(socket, 'expired').catch((err) => deps.log.error({ err }, 'socket expiry failed'));
    }
  }, options.expirySweepMs ?? 5000);
  sweep.unref();

  return {
    async accountChanged(userId) {
      if (deps.crossInstance) io.serverSideEmit('account:changed', userId);
      await reviewLocal(userId);
    },
    close() {
      clearInterval(sweep);
    },
  };
}

/** Registers the handlers on app.io once the queue service exists. */
export default fp(
  async (app: FastifyInstance, options: QueueSocketOptions) => {
    const sockets = attachQueueSockets(
      app.io,
      {
        queue: app.queue,
        accessFromToken: app.accessFromToken,
        principalById: app.principalById,
        clock: app.clock,
        log: app.log,
        crossInstance: app.redis !== null,
      },
      options,
    );
    app.events.afterCommit('account.changed', ({ userId }) => sockets.accountChanged(userId));
    app.addHook('onClose', async () => sockets.close());
  },
  { name: 'queue-sockets', dependencies: ['realtime', 'auth'] },
);
