// The realtime connection the pages share: one Socket.IO socket, a connection indicator, and watched queues
// kept current from snapshot + queue:update (resync on a version gap and after every reconnect).
import { io, type Socket } from 'socket.io-client';
import { accessToken, refreshSession } from './api.js';

export interface QueueEntry {
  serial: number;
  status: string;
  position: number | null;
  appointmentId?: string;
  name?: string | null;
  priority?: number;
  kind?: string;
}

export interface QueueSnapshot {
  queueId: string;
  version: number;
  status: string;
  nowServing: number | null;
  avgConsultSeconds: number | null;
  entries: QueueEntry[];
  [extra: string]: unknown;
}

export interface QueueUpdate {
  queueId: string;
  version: number;
  type: string;
  serial: number | null;
  appointmentId?: string;
  status: string;
  after?: number | null;
  nowServing: number | null;
  waiting: number;
  avgConsultSeconds: number | null;
  paused: boolean;
  at: string;
}

export interface DoctorNotice {
  queueId: string;
  message: string;
  until?: string | null;
}

export type ConnectionState = 'connecting' | 'live' | 'offline';

type Ack = { error?: { code: string; message: string } } & Record<string, unknown>;

const WAITING = new Set(['booked', 'confirmed', 'checked_in', 'waiting']);
const GONE = new Set(['completed', 'no_show', 'cancelled']);

export function isWaiting(status: string): boolean {
  return WAITING.has(status);
}

export interface LiveOptions {
  auth?: { token?: string; trackingToken?: string };
  onState?: (state: ConnectionState, lastUpdate: Date | null) => void;
}

/** One socket per page; queues and appointments watched through it survive reconnects. */
export class Live {
  readonly socket: Socket;
  lastUpdate: Date | null = null;
  state: ConnectionState = 'connecting';
  #queues = new Map<string, WatchedQueue>();
  #appointments = new Map<string, (data: Record<string, unknown>) => void>();
  #onState: LiveOptions['onState'];
  #noticeHandlers: ((notice: DoctorNotice) => void)[] = [];

  constructor(options: LiveOptions = {}) {
    this.#onState = options.onState;
    const auth = options.auth ?? (accessToken() ? { token: accessToken() ?? undefined } : {});
    this.socket = io({ auth, transports: ['websocket', 'polling'], reconnectionDelayMax: 3000 });
    this.socket.on('connect', () => {
      this.#setState('live');
      for (const queue of this.#queues.values()) void queue.resync();
      for (const [id, handler] of this.#appointments) void this.#watchAppointment(id, handler);
    });
    this.socket.on('disconnect', () => this.#setState('offline'));
    this.socket.on('connect_error', async (err: Error & { data?: { code?: string } }) => {
      this.#setState('offline');
      if (err.data?.code === 'UNAUTHENTICATED' && auth.token && (await refreshSession())) {
        auth.token = accessToken() ?? undefined;
        this.socket.auth = auth;
        this.socket.connect();
      }
    });
    this.socket.on('queue:update', (update: QueueUpdate) => {
      this.touch();
      this.#queues.get(update.queueId)?.apply(update);
    });
    this.socket.on('appointment:update', (data: Record<string, unknown>) => {
      this.touch();
      this.#appointments.get(String(data.appointmentId))?.(data);
    });
    this.socket.on('doctor:notice', (notice: DoctorNotice) => {
      for (const handler of this.#noticeHandlers) handler(notice);
    });
  }

  touch(): void {
    this.lastUpdate = new Date();
    this.#onState?.(this.state, this.lastUpdate);
  }

  #setState(state: ConnectionState): void {
    this.state = state;
    this.#onState?.(state, this.lastUpdate);
  }

  emit<T extends Ack>(event: string, payload: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      this.socket.timeout(8000).emit(event, payload, (err: Error | null, result: T) => {
        if (err) reject(err);
        else if (result?.error)
          reject(Object.assign(new Error(result.error.message), { code: result.error.code }));
        else resolve(result);
      });
    });
  }

  /** Watches a queue; `onChange` runs after the snapshot and after each applied update. */
  watchQueue(queueId: string, onChange: (queue: WatchedQueue, update?: QueueUpdate) => void): WatchedQueue {
    let queue = this.#queues.get(queueId);
    if (!queue) {
      queue = new WatchedQueue(this, queueId, onChange);
      this.#queues.set(queueId, queue);
      if (this.socket.connected) void queue.resync();
    }
    return queue;
  }

  unwatchQueue(queueId: string): void {
    if (!this.#queues.delete(queueId)) return;
    if (this.socket.connected) this.socket.emit('queue:unwatch', { queueId });
  }

  watchedQueues(): string[] {
    return [...this.#queues.keys()];
  }

  watchAppointment(appointmentId: string, onUpdate: (data: Record<string, unknown>) => void): void {
    this.#appointments.set(appointmentId, onUpdate);
    if (this.socket.connected) void this.#watchAppointment(appointmentId, onUpdate);
  }

  async #watchAppointment(appointmentId: string, onUpdate: (data: Record<string, unknown>) => void) {
    try {
      const result = await this.emit<Ack>('appointment:watch', { appointmentId });
      this.touch();
      onUpdate(result);
    } catch {
      // The page still shows the last state it fetched; the indicator tells how fresh it is.
    }
  }

  onNotice(handler: (notice: DoctorNotice) => void): void {
    this.#noticeHandlers.push(handler);
  }
}

/** One queue's state from the snapshot plus every queue:update, in version order. */
export class WatchedQueue {
  snapshot: QueueSnapshot | null = null;
  paused = false;
  #resyncing: Promise<void> | null = null;

  constructor(
    private readonly live: Live,
    readonly queueId: string,
    private readonly onChange: (queue: WatchedQueue, update?: QueueUpdate) => void,
  ) {}

  resync(): Promise<void> {
    this.#resyncing ??= (async () => {
      try {
        const result = await this.live.emit<Ack>('queue:watch', { queueId: this.queueId });
        const snapshot = (result.snapshot ?? result) as QueueSnapshot;
        this.snapshot = { ...snapshot, entries: [...(snapshot.entries ?? [])] };
        this.paused = snapshot.status === 'paused';
        this.live.touch();
        this.onChange(this);
      } catch {
        // Retried on the next update or reconnect.
      }
    })().finally(() => {
      this.#resyncing = null;
    });
    return this.#resyncing;
  }

  apply(update: QueueUpdate): void {
    const snap = this.snapshot;
    if (!snap || update.version <= snap.version) return;
    if (update.version !== snap.version + 1) {
      void this.resync();
      return;
    }
    const entries = snap.entries;
    const index = update.serial === null ? -1 : entries.findIndex((e) => e.serial === update.serial);
    const known = index >= 0 ? entries[index] : undefined;
    if (index >= 0) entries.splice(index, 1);
    if (
      update.serial !== null &&
      !GONE.has(update.status) &&
      update.type !== 'paused' &&
      update.type !== 'resumed'
    ) {
      const entry: QueueEntry = {
        ...(known ?? { serial: update.serial, position: null }),
        status: update.status,
        appointmentId: update.appointmentId ?? known?.appointmentId,
      };
      if (isWaiting(update.status) && update.after !== undefined) {
        const afterIndex = update.after === null ? -1 : entries.findIndex((e) => e.serial === update.after);
        entries.splice(afterIndex + 1, 0, entry);
      } else if (isWaiting(update.status) && known) {
        entries.splice(index, 0, entry);
      } else if (isWaiting(update.status)) {
        entries.push(entry);
      } else {
        entries.unshift(entry);
      }
    }
    let position = 0;
    for (const entry of entries) entry.position = isWaiting(entry.status) ? position++ : null;
    snap.version = update.version;
    snap.nowServing = update.nowServing;
    snap.avgConsultSeconds = update.avgConsultSeconds;
    this.paused = update.paused;
    if (update.type === 'closed') snap.status = 'closed';
    else snap.status = update.paused ? 'paused' : snap.status === 'closed' ? 'closed' : 'open';
    this.onChange(this, update);
    // Updates carry serials, not names: a console that shows names fetches the new entry's from a snapshot.
    if (!known && entries.some((e) => e.name !== undefined && e.serial !== update.serial)) void this.resync();
  }

  waiting(): QueueEntry[] {
    return (this.snapshot?.entries ?? []).filter((e) => isWaiting(e.status));
  }

  entry(appointmentId: string): QueueEntry | undefined {
    return this.snapshot?.entries.find((e) => e.appointmentId === appointmentId);
  }
}

/** A small dot + text showing whether the page is live and when it last heard from the server. */
export function connectionBadge(
  state: ConnectionState,
  lastUpdate: Date | null,
  timeZone?: string,
): { text: string; cls: string } {
  const at = lastUpdate
    ? lastUpdate.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone })
    : '—';
  if (state === 'live') return { text: `Live · updated ${at}`, cls: 'conn live' };
  if (state === 'connecting') return { text: 'Connecting…', cls: 'conn connecting' };
  return { text: `Reconnecting… last update ${at}`, cls: 'conn offline' };
}
