// Redis queue store. Per queue, five keys under one hash tag (one Redis Cluster slot):
//   <prefix>{q:<id>}:m  hash   meta: version, status, nowServing, samples, outOfOrder, notice, pausedUntil,
//                               pausedAt, …
//   <prefix>{q:<id>}:z  zset   waiting appointment ids, score = scoreOf(priority, positionKey)
//   <prefix>{q:<id>}:e  hash   appointment id → entry JSON (positionKey as a string: Lua's cjson rounds numbers)
//   <prefix>{q:<id>}:c  zset   called ids by serial        <prefix>{q:<id>}:s  zset  skipped ids by serial
//   <prefix>{q:<id>}:lock      rebuild lock (SET NX PX)
// Changes go through lua/apply.lua (version-checked), rebuilds through lua/replace.lua; both are atomic.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from '../../plugins/redis.js';
import {
  type ApplyResult,
  assertValidChange,
  assertValidEntry,
  CONSULT_SAMPLES,
  type EntryEffect,
  type HeadEntry,
  type MetaPatch,
  type PositionedEntry,
  type PositionView,
  type ProjectionLoader,
  type QueueChange,
  type QueueEntry,
  type QueueMeta,
  type QueueProjection,
  type QueueSnapshot,
  type QueueStore,
  type QueueStoreOptions,
  type RebuildResult,
  rollingAverage,
  type SnapshotOptions,
  scoreOf,
} from './queue.store.js';
import type { QueueStatus } from './queue.table.js';

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');

const SCRIPTS = {
  careQueueApply: { numberOfKeys: 5, lua: lua('apply') },
  careQueueReplace: { numberOfKeys: 5, lua: lua('replace') },
  careQueueUnlock: { numberOfKeys: 1, lua: lua('unlock') },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptClient = RedisClient &
  Record<ScriptName, (...args: (string | number)[]) => Promise<string | number>>;

/** Entry as stored in the entries hash. */
interface StoredEntry extends Omit<QueueEntry, 'positionKey'> {
  positionKey: string;
}

interface RawApplied {
  status: 'applied';
  meta: string[];
  waiting: number;
  entries:
    | (Omit<EntryEffect, 'position' | 'after'> & { position: number | null; after?: number | null })[]
    | object;
  headBefore: HeadEntry[] | object;
  head: HeadEntry[] | object;
}

const POLL_MS = 20;

export class RedisQueueStore implements QueueStore {
  readonly kind = 'redis' as const;
  readonly #redis: ScriptClient;
  readonly #prefix: string;
  readonly #headSize: number;
  readonly #ttl: number;
  readonly #lockMs: number;

  /** Defines its Lua commands on the given connection (idempotent); never closes it. */
  constructor(redis: RedisClient, options: QueueStoreOptions = {}) {
    for (const [name, script] of Object.entries(SCRIPTS)) {
      if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') {
        redis.defineCommand(name, script);
      }
    }
    this.#redis = redis as ScriptClient;
    this.#prefix = options.prefix ?? 'cq:';
    this.#headSize = options.headSize ?? 4;
    this.#ttl = options.ttlSeconds ?? 172_800;
    this.#lockMs = options.lockMs ?? 5000;
  }

  #keys(queueId: string): [string, string, string, string, string] {
    const base = `${this.#prefix}{q:${queueId}}`;
    return [`${base}:m`, `${base}:z`, `${base}:e`, `${base}:c`, `${base}:s`];
  }

  async apply(queueId: string, change: QueueChange): Promise<ApplyResult> {
    assertValidChange(change);
    const ops = change.ops.map((op) => {
      switch (op.op) {
        case 'add':
          return {
            op: 'add',
            id: op.entry.appointmentId,
            // The script sets outOfOrderBase from the meta it holds.
            json: encodeEntry({ ...op.entry, status: 'waiting', outOfOrderBase: 0 }),
            score: String(scoreOf(op.entry.priority, op.entry.positionKey)),
          };
        case 'meta':
          return { op: 'meta', patch: pickPatch(op.patch) };
        case 'recall':
          return { op: 'recall', id: op.appointmentId, positionKey: String(op.positionKey) };
        case 'remove':
          return { op: 'remove', id: op.appointmentId, consultSeconds: op.consultSeconds };
        case 'stage':
          return { op: 'stage', id: op.appointmentId, stage: op.stage };
        case 'call':
          return op.outOfOrder
            ? { op: 'call', id: op.appointmentId, outOfOrder: true }
            : { op: 'call', id: op.appointmentId };
        default:
          return { op: op.op, id: op.appointmentId };
      }
    });
    const raw = await this.#redis.careQueueApply(
      ...this.#keys(queueId),
      change.version,
      this.#headSize,
      this.#ttl,
      JSON.stringify(ops),
    );
    const result = JSON.parse(String(raw)) as ApplyResult | RawApplied;
    if (result.status !== 'applied') return result;
    const applied = result as RawApplied;
    const { consultSamples: _samples, ...meta } = parseMeta(queueId, pairs(applied.meta), applied.waiting);
    return {
      status: 'applied',
      meta,
      entries: asArray(applied.entries).map((e) => {
        const effect: EntryEffect = {
          appointmentId: e.appointmentId,
          serial: e.serial,
          status: e.status,
          stage: e.stage,
          position: e.position ?? null,
        };
        if (e.status === 'waiting') effect.after = e.after ?? null;
        return effect;
      }),
      headBefore: asArray(applied.headBefore),
      head: asArray(applied.head),
    };
  }

  async replace(projection: QueueProjection): Promise<'replaced' | 'stale'> {
    const { meta } = projection;
    const fields: Record<string, string | number | null> = {
      queueId: meta.queueId,
      version: meta.version,
      status: meta.status,
      nowServing: meta.nowServing,
      samples: meta.consultSamples.slice(-CONSULT_SAMPLES).join(','),
      notice: meta.notice,
      pausedUntil: meta.pausedUntil,
      pausedAt: meta.pausedAt ?? null,
      startsAt: meta.startsAt,
      slotMinutes: meta.slotMinutes,
      doctorId: meta.doctorId,
      hospitalId: meta.hospitalId,
      date: meta.date,
      outOfOrder: meta.outOfOrderCount,
    };
    if (!fields.samples) fields.samples = null;
    const metaPairs = Object.entries(fields)
      .filter(([, v]) => v !== null)
      .flatMap(([k, v]) => [k, String(v)]);
    const entries = projection.entries.map((entry) => {
      assertValidEntry(entry);
      return [
        entry.appointmentId,
        encodeEntry(entry),
        entry.status,
        String(scoreOf(entry.priority, entry.positionKey)),
        entry.serial,
      ];
    });
    const outcome = await this.#redis.careQueueReplace(
      ...this.#keys(meta.queueId),
      meta.version,
      this.#ttl,
      JSON.stringify(metaPairs),
      JSON.stringify(entries),
    );
    return outcome === 'stale' ? 'stale' : 'replaced';
  }

  async rebuild(queueId: string, load: ProjectionLoader): Promise<RebuildResult> {
    const lockKey = `${this.#prefix}{q:${queueId}}:lock`;
    const token = randomBytes(12).toString('hex');
    for (let attempt = 0; attempt < 3; attempt++) {
      const locked = await this.#redis.set(lockKey, token, 'PX', this.#lockMs, 'NX');
      if (locked === 'OK') {
        try {
          const projection = await load();
          if (!projection) return { status: 'not_found' };
          await this.replace(projection);
          const version = await this.#redis.hget(this.#keys(queueId)[0], 'version');
          return { status: 'rebuilt', version: Number(version ?? projection.meta.version) };
        } finally {
          await this.#redis.careQueueUnlock(lockKey, token);
        }
      }
      const deadline = Date.now() + this.#lockMs + POLL_MS;
      while (Date.now() < deadline && (await this.#redis.exists(lockKey))) await sleep(POLL_MS);
      const version = await this.#redis.hget(this.#keys(queueId)[0], 'version');
      if (version !== null) return { status: 'waited', version: Number(version) };
    }
    throw new Error(`queue ${queueId}: could not take the rebuild lock`);
  }

  async snapshot(queueId: string, options: SnapshotOptions = {}): Promise<QueueSnapshot | null> {
    const [m, z, e, c, s] = this.#keys(queueId);
    const replies = await this.#redis
      .multi()
      .hgetall(m)
      .zrange(z, '0', '-1')
      .zrange(c, '0', '-1')
      .zrange(s, '0', '-1')
      .hgetall(e)
      .exec();
    const [metaHash, waiting, called, skipped, stored] = unwrap(replies) as [
      Record<string, string>,
      string[],
      string[],
      string[],
      Record<string, string>,
    ];
    if (!metaHash.version) return null;
    const view = (id: string, position: number | null): PositionedEntry => {
      const entry = decodeEntry(stored[id]);
      return { ...entry, label: options.labels ? entry.label : null, position };
    };
    const entries = [
      ...waiting.map((id, i) => view(id, i)),
      ...called.map((id) => view(id, null)),
      ...skipped.map((id) => view(id, null)),
    ];
    return { meta: parseMeta(queueId, metaHash, waiting.length), entries };
  }

  async meta(queueId: string): Promise<QueueMeta | null> {
    const [m, z] = this.#keys(queueId);
    const [metaHash, waiting] = unwrap(await this.#redis.multi().hgetall(m).zcard(z).exec()) as [
      Record<string, string>,
      number,
    ];
    return metaHash.version ? parseMeta(queueId, metaHash, waiting) : null;
  }

  async position(queueId: string, appointmentId: string): Promise<PositionView | null> {
    const [m, z, e] = this.#keys(queueId);
    const replies = await this.#redis
      .multi()
      .hgetall(m)
      .zcard(z)
      .hget(e, appointmentId)
      .zrank(z, appointmentId)
      .exec();
    const [metaHash, waiting, stored, rank] = unwrap(replies) as [
      Record<string, string>,
      number,
      string | null,
      number | null,
    ];
    if (!metaHash.version) return null;
    return {
      meta: parseMeta(queueId, metaHash, waiting),
      entry: stored === null ? null : { ...decodeEntry(stored), label: null, position: rank },
    };
  }

  async drop(queueId: string): Promise<void> {
    await this.#redis.del(...this.#keys(queueId));
  }
}

/** Only the patchable meta fields reach the script (it writes whatever field names it is given). */
function pickPatch(patch: MetaPatch): MetaPatch {
  const out: MetaPatch = {};
  if (patch.status !== undefined) out.status = patch.status;
  if (patch.nowServing !== undefined) out.nowServing = patch.nowServing;
  if (patch.notice !== undefined) out.notice = patch.notice;
  if (patch.pausedUntil !== undefined) out.pausedUntil = patch.pausedUntil;
  if (patch.pausedAt !== undefined) out.pausedAt = patch.pausedAt;
  return out;
}

function encodeEntry(entry: QueueEntry): string {
  const stored: StoredEntry = {
    appointmentId: entry.appointmentId,
    serial: entry.serial,
    status: entry.status,
    stage: entry.stage,
    priority: entry.priority,
    positionKey: String(entry.positionKey),
    kind: entry.kind,
    label: entry.label,
    estimatedAt: entry.estimatedAt,
    outOfOrderBase: entry.outOfOrderBase,
  };
  return JSON.stringify(stored);
}

function decodeEntry(json: string): QueueEntry {
  const stored = JSON.parse(json) as StoredEntry;
  return {
    appointmentId: stored.appointmentId,
    serial: stored.serial,
    status: stored.status,
    stage: stored.stage,
    priority: stored.priority,
    positionKey: Number(stored.positionKey),
    kind: stored.kind,
    label: stored.label ?? null,
    estimatedAt: stored.estimatedAt ?? null,
    outOfOrderBase: stored.outOfOrderBase ?? 0,
  };
}

function parseMeta(queueId: string, hash: Record<string, string>, waiting: number): QueueMeta {
  const samples = hash.samples ? hash.samples.split(',').map(Number) : [];
  const slotMinutes = Number(hash.slotMinutes);
  return {
    queueId,
    version: Number(hash.version),
    status: hash.status as QueueStatus,
    nowServing: hash.nowServing === undefined ? null : Number(hash.nowServing),
    avgConsultSeconds: rollingAverage(samples, slotMinutes),
    consultSamples: samples,
    notice: hash.notice ?? null,
    pausedUntil: hash.pausedUntil ?? null,
    pausedAt: hash.pausedAt ?? null,
    startsAt: hash.startsAt,
    slotMinutes,
    doctorId: hash.doctorId,
    hospitalId: hash.hospitalId,
    date: hash.date,
    waiting,
    outOfOrderCount: Number(hash.outOfOrder ?? 0),
  };
}

/** HGETALL as returned inside a script: a flat field, value list. */
function pairs(flat: string[] | object): Record<string, string> {
  const list = asArray(flat as string[]);
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]] = list[i + 1];
  return out;
}

/** cjson encodes an empty Lua table as {}. */
function asArray<T>(value: T[] | object): T[] {
  return Array.isArray(value) ? value : [];
}

function unwrap(replies: [Error | null, unknown][] | null): unknown[] {
  // Without WATCH, EXEC answers nothing only when the connection went away during the transaction.
  if (!replies)
    throw Object.assign(new Error('redis transaction aborted'), { name: 'RedisTransactionAborted' });
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
