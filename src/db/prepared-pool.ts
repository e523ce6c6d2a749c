// A pg pool for Kysely that runs marked hot queries as named prepared statements. Postgres then parses and
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

class PreparingClient implements PostgresPoolClient {
  readonly #names = new Set<string>();

  constructor(
    private readonly client: pg.PoolClient,
    private readonly forget: (client: pg.PoolClient) => void,
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
      return;
    }
    this.forget(this.client);
    this.client.release(true);
  }
}

export class PreparingPool implements PostgresPool {
  readonly #clients = new WeakMap<pg.PoolClient, PreparingClient>();

  constructor(private readonly pool: pg.Pool) {}

  async connect(): Promise<PostgresPoolClient> {
    const client = await this.pool.connect();
    // One wrapper per pg client: Kysely keys its connection objects by client identity.
    let wrapped = this.#clients.get(client);
    if (!wrapped) {
      wrapped = new PreparingClient(client, (c) => this.#clients.delete(c));
      this.#clients.set(client, wrapped);
    }
    return wrapped;
  }

  end(): Promise<void> {
    return this.pool.end();
  }
}
