// A pg pool for Kysely that bounds how long a burst waits for a connection and runs marked hot queries as
// named prepared statements. Postgres then parses and
// plans such a query once per connection instead of on every request (for the doctor search at 10k doctors
// that is about a third of its database time). Only queries that opt in by starting with PREPARED are named:
// a prepared statement lives as long as its connection, so the set of marked query shapes must stay small.
import { createHash } from 'node:crypto';
import type {
  Compilable,
  PostgresCursor,
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryResult,
  QueryResult,
} from 'kysely';
import type pg from 'pg';
import type { Executor } from './database.js';

/** Start a query's SQL with this comment to run it as a named prepared statement on Postgres. */
export const PREPARED = '/* prepared */ ';

/** Runs a query built with Kysely's query builder as a named prepared statement. */
export function executePrepared<R>(db: Executor, query: Compilable<R>): Promise<QueryResult<R>> {
  const compiled = query.compile();
  return db.executeQuery<R>({ ...compiled, sql: PREPARED + compiled.sql });
}

/**
 * A connection that has prepared this many distinct statements is closed when released (the pool opens a new
 * one), which bounds the server memory that prepared plans hold without tracking and deallocating them.
 */
const MAX_PREPARED_PER_CONNECTION = 200;

function statementName(text: string): string {
  return `cq_${createHash('sha1').update(text).digest('base64url')}`;
}

/** The message isConnectionError (plugins/errors.ts) knows, so a wait that runs out answers 503 UNAVAILABLE. */
export const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect: no free database connection';

/**
 * First come, first served permits for the pool's connections, each waiter with its own deadline. pg's own
 * connectionTimeoutMillis covers both waiting for a free client and opening a new one; kept apart, a burst can
 * wait long for its turn while an unreachable server still fails as fast as the connect timeout.
 */
class Turns {
  #free: number;
  readonly #waiting: { grant: () => void }[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  take(waitMs: number): Promise<void> {
    if (this.#free > 0 && this.#waiting.length === 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        reject(Object.assign(new Error(`${POOL_WAIT_TIMEOUT} within ${waitMs} ms`), { code: 'ETIMEDOUT' }));
      }, waitMs);
      this.#waiting.push(waiter);
    });
  }

  give(): void {
    const next = this.#waiting.shift();
    if (next) next.grant();
    else this.#free++;
  }
}

class PreparingClient implements PostgresPoolClient {
  readonly #names = new Set<string>();

  constructor(
    private readonly client: pg.PoolClient,
    private readonly forget: (client: pg.PoolClient) => void,
    private readonly done: () => void,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sqlOrCursor: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    const client = this.client as unknown as PostgresPoolClient;
    if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor);
    if (!sqlOrCursor.startsWith(PREPARED)) return client.query<R>(sqlOrCursor, parameters ?? []);
    const name = statementName(sqlOrCursor);
    this.#names.add(name);
    return this.client.query({
      name,
      text: sqlOrCursor,
      values: [...(parameters ?? [])],
    }) as unknown as Promise<PostgresQueryResult<R>>;
  }

  release(): void {
    if (this.#names.size < MAX_PREPARED_PER_CONNECTION) {
      this.client.release();
    } else {
      this.forget(this.client);
      this.client.release(true);
    }
    this.done();
  }
}

export interface PreparingPoolOptions {
  /** Connections at once; the pg pool's `max` must be the same. @default 10 */
  size?: number;
  /** How long a checkout waits for its turn before failing with POOL_WAIT_TIMEOUT. @default 30000 */
  waitMs?: number;
}

export class PreparingPool implements PostgresPool {
  readonly #clients = new WeakMap<pg.PoolClient, PreparingClient>();
  readonly #turns: Turns;
  readonly #waitMs: number;
  readonly #giveBack = () => this.#turns.give();

  constructor(
    private readonly pool: pg.Pool,
    options: PreparingPoolOptions = {},
  ) {
    this.#turns = new Turns(options.size ?? 10);
    this.#waitMs = options.waitMs ?? 30_000;
  }

  /** Checkouts waiting for a connection right now. */
  get waiting(): number {
    return this.#turns.waiting;
  }

  async connect(): Promise<PostgresPoolClient> {
    await this.#turns.take(this.#waitMs);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      this.#turns.give();
      throw err;
    }
    // One wrapper per pg client: Kysely keys its connection objects by client identity.
    let wrapped = this.#clients.get(client);
    if (!wrapped) {
      wrapped = new PreparingClient(client, (c) => this.#clients.delete(c), this.#giveBack);
      this.#clients.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
