// Live-queue operations over HTTP and sockets: who may run which one, and the transaction each runs in; the
// day ledger (src/modules/day/day.ledger.ts) locks the day, checks it is open and at the expected version,
// and makes the change. Reads live in queue.reads.ts; the after-commit apply and broadcast in queue.live.ts.

import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database, DB } from '../../db/database.js';
import { forbidden, notFound } from '../../errors.js';
import type { DomainEvents, Emit } from '../../events.js';
import type { DayLedger, LockedDay } from '../day/day.ledger.js';
import type { EntryAction, PreviousOutcome } from '../day/day.rules.js';
import { canManage, mayWatchHospital, type Viewer } from './queue.access.js';
import type { LiveQueue } from './queue.live.js';
import { QueueReads } from './queue.reads.js';
import { appointmentOwnerIds, findAppointment, findProfile } from './queue.repository.js';
import type {
  AppointmentWatchView,
  CloseBody,
  OperationResult,
  PauseBody,
  QueueListQuery,
  ReasonCode,
  Snapshot,
  TrackView,
  WalkInBody,
  WalkInResult,
} from './queue.schema.js';

export interface QueueServiceDeps {
  db: DB;
  events: DomainEvents;
  clock: Clock;
  live: LiveQueue;
  ledger: DayLedger;
}

type Step<T> = (trx: Transaction<Database>, emit: Emit, day: LockedDay) => Promise<T>;

export class QueueService {
  readonly reads: QueueReads;

  constructor(private readonly deps: QueueServiceDeps) {
    this.reads = new QueueReads({ db: deps.db, clock: deps.clock, live: deps.live });
  }

  // ---- operations: who may run them; the day ledger runs them ----

  callNext(
    viewer: Viewer,
    queueId: string,
    ifMatch?: number,
    previous?: PreviousOutcome,
  ): Promise<OperationResult> {
    return this.#operate(viewer, queueId, { ifMatch, calling: true }, (trx, emit, day) =>
      this.deps.ledger.callNext(trx, emit, day, viewer, previous),
    );
  }

  entryAction(
    viewer: Viewer,
    queueId: string,
    appointmentId: string,
    action: EntryAction,
    options: { ifMatch?: number; reason?: ReasonCode; previous?: PreviousOutcome },
  ): Promise<OperationResult> {
    return this.#operate(
      viewer,
      queueId,
      { ifMatch: options.ifMatch, calling: action === 'call' },
      (trx, emit, day) => this.deps.ledger.entry(trx, emit, day, viewer, appointmentId, action, options),
    );
  }

  async walkIn(viewer: Viewer, queueId: string, body: WalkInBody, ifMatch?: number): Promise<WalkInResult> {
    const result = await this.#operate(viewer, queueId, { ifMatch }, async (trx, emit, day) => {
      if (body.profileId && !(await findProfile(trx, body.profileId))) throw notFound('Patient profile');
      return this.deps.ledger.walkIn(trx, emit, day, viewer, body);
    });
    return {
      id: result.appointment.id,
      queueId,
      version: result.version,
      serial: result.appointment.serial,
      status: 'checked_in',
      priority: result.priority,
      trackingToken: result.trackingToken,
    };
  }

  pause(viewer: Viewer, queueId: string, body: PauseBody, ifMatch?: number): Promise<OperationResult> {
    return this.#operate(viewer, queueId, { ifMatch }, (trx, emit, day) =>
      this.deps.ledger.pause(trx, emit, day, viewer, body),
    );
  }

  resume(viewer: Viewer, queueId: string, ifMatch?: number): Promise<OperationResult> {
    return this.#operate(viewer, queueId, { ifMatch }, (trx, emit, day) =>
      this.deps.ledger.resume(trx, emit, day, viewer),
    );
  }

  close(viewer: Viewer, queueId: string, body: CloseBody, ifMatch?: number): Promise<OperationResult> {
    return this.#operate(viewer, queueId, { ifMatch }, (trx, emit, day) =>
      this.deps.ledger.close(trx, emit, day, viewer, body),
    );
  }

  /** Patient self check-in: the owner of the appointment (signed in) or its tracking-token holder. */
  async selfCheckIn(
    who: { viewer: Viewer } | { trackingToken: string },
    appointmentId: string | null,
  ): Promise<OperationResult> {
    let target: { appointmentId: string; queueId: string } | undefined;
    if ('trackingToken' in who) {
      target = await this.reads.byTrackingToken(who.trackingToken);
    } else {
      const row = appointmentId ? await findAppointment(this.deps.db, appointmentId) : undefined;
      if (!row) throw notFound('Appointment');
      const owners = await appointmentOwnerIds(this.deps.db, row.id);
      if (!owners.includes(who.viewer.id))
        throw forbidden('Only the patient may check in to this appointment');
      target = { appointmentId: row.id, queueId: row.queueId };
    }
    const { queueId } = target;
    const actor = { id: 'viewer' in who ? who.viewer.id : null };
    return this.#transaction(queueId, {}, (trx, emit, day) =>
      this.deps.ledger.entry(trx, emit, day, actor, target.appointmentId, 'check-in'),
    );
  }

  // ---- reads (queue.reads.ts) ----

  list(query: QueueListQuery) {
    return this.reads.list(query);
  }

  snapshot(viewer: Viewer | null, queueId: string): Promise<Snapshot> {
    return this.reads.snapshot(viewer, queueId);
  }

  track(trackingToken: string): Promise<TrackView> {
    return this.reads.track(trackingToken);
  }

  watchAppointment(
    viewer: Viewer | null,
    trackedAppointmentId: string | null,
    appointmentId: string,
  ): Promise<AppointmentWatchView> {
    return this.reads.watchAppointment(viewer, trackedAppointmentId, appointmentId);
  }

  mayWatchHospital(viewer: Viewer | null, hospitalId: string): boolean {
    return mayWatchHospital(viewer, hospitalId);
  }

  /** The appointment a tracking token belongs to (socket handshakes). */
  async trackedAppointment(trackingToken: string): Promise<string> {
    return (await this.reads.byTrackingToken(trackingToken)).appointmentId;
  }

  // ---- the transaction every operation runs in ----

  async #operate<T>(
    viewer: Viewer,
    queueId: string,
    options: { ifMatch?: number; calling?: boolean },
    step: Step<T>,
  ): Promise<T> {
    const context = await this.reads.context(queueId);
    if (!canManage(viewer, context))
      throw forbidden('Only staff of this hospital and its doctor run this queue');
    return this.#transaction(queueId, options, step);
  }

  async #transaction<T>(queueId: string, options: { ifMatch?: number; calling?: boolean }, step: Step<T>) {
    // Make sure a projection exists before the transaction (a rebuild cannot run inside it on PGlite), so
    // in-transaction reads of positions see the queue and the commit applies without a rebuild. The
    // projection is a cache: with Redis unreachable the operation still commits in Postgres.
    await this.deps.live.warm(queueId);
    return this.deps.events.transaction(this.deps.db, async (trx, emit) => {
      const day = await this.deps.ledger.open(trx, queueId, options);
      return step(trx, emit, day);
    });
  }
}
