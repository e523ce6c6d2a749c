// The realtime side of the pages: a connection indicator, appointment watches and doctor notices on one
// socket, and watched queues kept by the shared QueueClient (snapshot + updates, resync on gaps/reconnects).
import { io, type Socket } from 'socket.io-client';
import { accessToken, refreshSession } from './api.js';
import { QueueClient } from './queue-client.js';

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

  #auth: { token?: string; trackingToken?: string };

  constructor(options: LiveOptions = {}) {
    this.#onState = options.onState;
    this.#auth = options.auth ?? (accessToken() ? { token: accessToken() ?? undefined } : {});
    const auth = this.#auth;
    this.socket = io({ auth, transports: ['websocket', 'polling'], reconnectionDelayMax: 3000 });
    this.socket.on('connect', () => {
      this.#updateState();
      for (const [id, handler] of this.#appointments) void this.#watchAppointment(id, handler);
    });
    this.socket.on('disconnect', () => this.#updateState());
    this.socket.on('connect_error', async (err: Error & { data?: { code?: string } }) => {
      this.#updateState();
      if (err.data?.code === 'UNAUTHENTICATED' && auth.token && (await refreshSession())) {
        auth.token = accessToken() ?? undefined;
        this.socket.auth = auth;
        this.socket.connect();
      }
    });
    this.socket.on('appointment:update', (data: Record<string, unknown>) => {
      this.touch();
      this.#appointments.get(String(data.appointmentId))?.(data);
    });
    this.socket.on('doctor:notice', (notice: DoctorNotice) => {
      for (const handler of this.#noticeHandlers) handler(notice);
    });
  }

  /** Handshake auth for the queue clients' sockets, read at each (re)connect so a refreshed token is used. */
  handshakeAuth(): { token?: string; trackingToken?: string } {
    if (this.#auth.token) return { token: accessToken() ?? this.#auth.token };
    return { ...this.#auth };
  }

  queueConnection(_queue: WatchedQueue, _connected: boolean): void {
    this.#updateState();
  }

  #updateState(): void {
    const sockets = [this.socket.connected, ...[...this.#queues.values()].map((q) => q.connected)];
    this.#setState(
      sockets.every(Boolean)
        ? 'live'
        : this.state === 'connecting' && !this.lastUpdate
          ? 'connecting'
          : 'offline',
    );
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
    }
    return queue;
  }

  unwatchQueue(queueId: string): void {
    this.#queues.get(queueId)?.close();
    this.#queues.delete(queueId);
    this.#updateState();
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

/**
 * One queue's live state, kept by the shared QueueClient (snapshot + in-order updates, resync on gaps and
 * reconnects), presented as an ordered entry list with positions for the pages.
 */
export class WatchedQueue {
  snapshot: QueueSnapshot | null = null;
  paused = false;
  readonly client: QueueClient;

  constructor(
    live: Live,
    readonly queueId: string,
    private readonly onChange: (queue: WatchedQueue, update?: QueueUpdate) => void,
  ) {
    this.client = new QueueClient({
      url: location.origin,
      queueId,
      io,
      auth: () => live.handshakeAuth(),
      backoff: { min: 500, max: 3000 },
    });
    this.client.on('connection', (status) => live.queueConnection(this, status === 'connected'));
    this.client.on('snapshot', () => {
      live.touch();
      this.#refresh();
    });
    this.client.on('update', (update) => {
      live.touch();
      this.#refresh(update);
      // Updates carry serials, not names (nor kind and priority): a console that shows names fetches the new
      // entry's from a snapshot.
      const entry = update.serial === null ? undefined : this.client.state?.entries.get(update.serial);
      const named = [...(this.client.state?.entries.values() ?? [])].some((e) => e.name !== undefined);
      if (entry && named && entry.name === undefined) void this.client.resync();
    });
    this.client.on('notice', () => this.#refresh());
  }

  get connected(): boolean {
    return this.client.socket.connected;
  }

  #refresh(update?: QueueUpdate): void {
    const state = this.client.state;
    if (!state) return;
    const entries: QueueEntry[] = [];
    const waiting = new Set(state.waiting);
    for (const [position, serial] of state.waiting.entries()) {
      const e = state.entries.get(serial);
      entries.push({
        serial,
        status: e?.status ?? 'booked',
        position,
        appointmentId: e?.appointmentId,
        name: e?.name,
        kind: e?.kind,
        priority: e?.priority,
      });
    }
    const others = [...state.entries.values()]
      .filter((e) => !waiting.has(e.serial))
      .sort((a, b) => a.serial - b.serial);
    for (const e of others) entries.push({ ...e, position: null });
    this.snapshot = {
      queueId: state.queueId,
      version: state.version,
      status: state.status,
      nowServing: state.nowServing,
      avgConsultSeconds: state.avgConsultSeconds,
      notice: state.notice,
      entries,
    };
    this.paused = state.paused;
    this.onChange(this, update);
  }

  resync(): Promise<void> {
    return this.client.resync();
  }

  close(): void {
    this.client.close();
  }

  waiting(): QueueEntry[] {
    return (this.snapshot?.entries ?? []).filter((e) => e.position !== null);
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
