// The typed realtime client the demo pages share: keeps one queue's state from a snapshot plus
// `queue:update` events, resyncs on a version gap and after every reconnect (socket.io-client reconnects
// with exponential backoff), and answers position/ETA for an appointment. Browser-safe: no Node imports;
// pass socket.io-client's `io` (the server serves an ES module build at /socket.io/socket.io.esm.min.js).
import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import type {
  AppointmentUpdate,
  AppointmentWatchView,
  ClientToServerEvents,
  DoctorNotice,
  QueueUpdate,
  ServerToClientEvents,
  Snapshot,
} from '../../src/modules/queue/queue.schema.js';

export type QueueSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type IoFactory = (url: string, options: Partial<ManagerOptions & SocketOptions>) => Socket;
export type HandshakeAuth = { token?: string; trackingToken?: string };

export interface QueueClientOptions {
  /** Server origin, e.g. `location.origin`. */
  url: string;
  queueId: string;
  /** socket.io-client's `io`. */
  io: IoFactory;
  /** Handshake auth, or a function returning fresh auth before each (re)connect (token refresh). */
  auth?: HandshakeAuth | (() => HandshakeAuth | Promise<HandshakeAuth>);
  /** Appointments to follow with `appointment:watch` (their owners, staff, tracking links). */
  appointmentIds?: string[];
  /** Reconnect backoff bounds in ms. @default { min: 500, max: 10000 } */
  backoff?: { min: number; max: number };
  /** Clock for ETAs (tests). @default () => new Date() */
  now?: () => Date;
}

/** One live entry. Ids, names, kind and priority are there for staff and the doctor (as in the snapshot). */
export interface ClientEntry {
  serial: number;
  status: string;
  appointmentId?: string;
  name?: string;
  /** 'booked' or 'walk_in'. */
  kind?: string;
  /** Higher is served first; above 0 for emergencies. */
  priority?: number;
}

export interface QueueState {
  queueId: string;
  version: number;
  status: string;
  nowServing: number | null;
  avgConsultSeconds: number;
  paused: boolean;
  notice: string | null;
  pausedUntil: string | null;
  /** Serials of the waiting line, front first: index = position. */
  waiting: number[];
  /** Every live entry (waiting, called, skipped) by serial. */
  entries: Map<number, ClientEntry>;
}

export interface QueueClientEvents {
  /** A fresh snapshot replaced the state (first load, gap, reconnect, rebuild). */
  snapshot: (state: QueueState) => void;
  /** An update was applied in order. */
  update: (update: QueueUpdate, state: QueueState) => void;
  appointment: (update: AppointmentUpdate) => void;
  notice: (notice: DoctorNotice) => void;
  connection: (status: 'connected' | 'disconnected') => void;
  error: (error: { code: string; message: string }) => void;
}

const WAITING = new Set(['booked', 'confirmed', 'checked_in']);
const FINISHED = new Set(['completed', 'no_show', 'cancelled']);

type Listener = (...args: never[]) => void;

export class QueueClient {
  readonly socket: QueueSocket;
  #state: QueueState | null = null;
  readonly #serialOf = new Map<string, number>();
  readonly #listeners = new Map<keyof QueueClientEvents, Set<Listener>>();
  readonly #appointments: Set<string>;
  #resyncing: Promise<void> | null = null;
  #buffer: QueueUpdate[] = [];
  #closed = false;
  readonly #now: () => Date;
  #ready: Promise<void>;
  #markReady!: () => void;

  constructor(private readonly options: QueueClientOptions) {
    this.#now = options.now ?? (() => new Date());
    this.#appointments = new Set(options.appointmentIds ?? []);
    this.#ready = new Promise((resolve) => {
      this.#markReady = resolve;
    });
    const auth = options.auth;
    this.socket = options.io(options.url, {
      transports: ['websocket'],
      reconnection: true,
      reconnectionDelay: options.backoff?.min ?? 500,
      reconnectionDelayMax: options.backoff?.max ?? 10_000,
      randomizationFactor: 0.5,
      auth:
        typeof auth === 'function'
          ? (cb: (data: object) => void) => {
              Promise.resolve(auth()).then(cb, () => cb({}));
            }
          : (auth ?? {}),
    }) as QueueSocket;
    this.socket.on('connect', () => {
      this.#emit('connection', 'connected');
      // Rooms do not survive a reconnect: watch again, which also resyncs.
      void this.resync().then(() => this.#watchAppointments());
    });
    this.socket.on('disconnect', () => this.#emit('connection', 'disconnected'));
    this.socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      this.#emit('error', { code: err.data?.code ?? 'UNAVAILABLE', message: err.message });
    });
    this.socket.on('queue:update', (update) => this.#onUpdate(update));
    this.socket.on('appointment:update', (update) => {
      this.#serialOf.set(update.appointmentId, update.serial);
      this.#emit('appointment', update);
    });
    this.socket.on('doctor:notice', (notice) => {
      if (notice.queueId !== options.queueId) return;
      if (this.#state) {
        this.#state.notice = notice.message;
        this.#state.pausedUntil = notice.until ?? null;
      }
      this.#emit('notice', notice);
    });
  }

  /** Resolves once the first snapshot is in. */
  ready(): Promise<void> {
    return this.#ready;
  }

  get state(): QueueState | null {
    return this.#state;
  }

  /** Waiting entries ahead of the appointment (0 = next), or null when it is not waiting or unknown. */
  position(appointmentId: string): number | null {
    const serial = this.#serialOf.get(appointmentId);
    if (serial === undefined || !this.#state) return null;
    const index = this.#state.waiting.indexOf(serial);
    return index === -1 ? null : index;
  }

  /** Estimated call time: now + position × average consult (after a pause ends); null when not waiting. */
  eta(appointmentId: string): Date | null {
    const position = this.position(appointmentId);
    if (position === null || !this.#state) return null;
    const now = this.#now().getTime();
    const start = this.#state.pausedUntil ? Math.max(now, Date.parse(this.#state.pausedUntil)) : now;
    return new Date(start + position * this.#state.avgConsultSeconds * 1000);
  }

  /** Follows one appointment: its serial (for position) and its `appointment:update`s. */
  async watchAppointment(appointmentId: string): Promise<AppointmentWatchView> {
    this.#appointments.add(appointmentId);
    const result = await this.socket.emitWithAck('appointment:watch', { appointmentId });
    if ('error' in result) {
      this.#appointments.delete(appointmentId);
      throw Object.assign(new Error(result.error.message), { code: result.error.code });
    }
    this.#serialOf.set(appointmentId, result.serial);
    return result;
  }

  on<K extends keyof QueueClientEvents>(event: K, listener: QueueClientEvents[K]): () => void {
    const set = this.#listeners.get(event) ?? new Set();
    set.add(listener as Listener);
    this.#listeners.set(event, set);
    return () => set.delete(listener as Listener);
  }

  /** Fetches a fresh snapshot (one at a time); updates arriving meanwhile are replayed after it. */
  resync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#resyncing ??= (async () => {
      try {
        const result = await this.socket.emitWithAck('queue:watch', { queueId: this.options.queueId });
        if ('error' in result) {
          this.#emit('error', result.error);
          return;
        }
        this.#load(result);
      } finally {
        this.#resyncing = null;
      }
      const buffered = this.#buffer.sort((a, b) => a.version - b.version);
      this.#buffer = [];
      for (const update of buffered) this.#onUpdate(update);
    })();
    return this.#resyncing;
  }

  close(): void {
    this.#closed = true;
    this.socket.close();
  }

  #watchAppointments(): void {
    for (const id of this.#appointments) {
      this.watchAppointment(id).catch((err: { code?: string; message: string }) =>
        this.#emit('error', { code: err.code ?? 'UNAVAILABLE', message: err.message }),
      );
    }
  }

  #load(snapshot: Omit<Snapshot, never> & { ok?: true }): void {
    const entries = new Map<number, ClientEntry>();
    const waiting: { serial: number; position: number }[] = [];
    for (const e of snapshot.entries) {
      entries.set(e.serial, {
        serial: e.serial,
        status: e.status,
        appointmentId: e.appointmentId,
        name: e.name,
        kind: e.kind,
        priority: e.priority,
      });
      if (e.appointmentId) this.#serialOf.set(e.appointmentId, e.serial);
      if (e.position !== null) waiting.push({ serial: e.serial, position: e.position });
    }
    waiting.sort((a, b) => a.position - b.position);
    this.#state = {
      queueId: snapshot.queueId,
      version: snapshot.version,
      status: snapshot.status,
      nowServing: snapshot.nowServing,
      avgConsultSeconds: snapshot.avgConsultSeconds,
      paused: snapshot.paused,
      notice: snapshot.notice,
      pausedUntil: snapshot.pausedUntil,
      waiting: waiting.map((w) => w.serial),
      entries,
    };
    this.#emit('snapshot', this.#state);
    this.#markReady();
  }

  #onUpdate(update: QueueUpdate): void {
    if (update.queueId !== this.options.queueId) return;
    if (this.#resyncing) {
      this.#buffer.push(update);
      return;
    }
    const state = this.#state;
    if (!state || update.version <= state.version) return;
    if (update.version !== state.version + 1 || update.type === 'rebuilt' || !this.#apply(state, update)) {
      void this.resync();
      return;
    }
    this.#emit('update', update, state);
  }

  /** Applies one in-order update; false when the result does not add up (then the caller resyncs). */
  #apply(state: QueueState, update: QueueUpdate): boolean {
    state.version = update.version;
    state.nowServing = update.nowServing;
    state.avgConsultSeconds = update.avgConsultSeconds;
    state.paused = update.paused;
    if (update.type === 'paused') state.status = 'paused';
    if (update.type === 'resumed') {
      state.status = 'open';
      state.notice = null;
      state.pausedUntil = null;
    }
    if (update.type === 'closed') return false; // a close may end many entries at once: reload
    if (update.serial !== null) {
      const serial = update.serial;
      const index = state.waiting.indexOf(serial);
      if (index !== -1) state.waiting.splice(index, 1);
      if (update.appointmentId) this.#serialOf.set(update.appointmentId, serial);
      if (FINISHED.has(update.status)) {
        state.entries.delete(serial);
      } else {
        const entry = state.entries.get(serial) ?? { serial, status: update.status };
        entry.status = update.status;
        if (update.appointmentId) entry.appointmentId = update.appointmentId;
        state.entries.set(serial, entry);
      }
      if (WAITING.has(update.status)) {
        if (update.after === undefined) {
          if (index === -1) return false;
          state.waiting.splice(index, 0, serial);
        } else if (update.after === null) {
          state.waiting.unshift(serial);
        } else {
          const before = state.waiting.indexOf(update.after);
          if (before === -1) return false;
          state.waiting.splice(before + 1, 0, serial);
        }
      }
    }
    return state.waiting.length === update.waiting;
  }

  #emit<K extends keyof QueueClientEvents>(event: K, ...args: Parameters<QueueClientEvents[K]>): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch {
        // A page's listener must not break the client's state keeping.
      }
    }
  }
}
