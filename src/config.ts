// Environment → frozen, typed Config. Validated once at boot; nothing else reads process.env.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import cron from 'node-cron';

const KEY_PATTERN = '^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$';
const Flag = Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')]);

export const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** Comma-separated host:port of Redis Cluster nodes, instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: Type.Optional(
    Type.String({ pattern: '^\\s*[^\\s,:]+:\\d{1,5}\\s*(,\\s*[^\\s,:]+:\\d{1,5}\\s*)*$' }),
  ),
  REDIS_PREFIX: Type.String({ default: 'cq:' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  SEED_DEMO: Type.Optional(Flag),
  /** An S3-compatible endpoint (https://s3.eu-west-1.amazonaws.com, http://minio:9000): files go to S3_BUCKET. */
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://' })),
  S3_BUCKET: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' })),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  // A pattern, not format: 'email' (TypeBox's Value checker knows no formats unless registered).
  ADMIN_EMAIL: Type.Optional(Type.String({ pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$', maxLength: 254 })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8 })),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  ENCRYPTION_KEY: Type.Optional(Type.String({ pattern: KEY_PATTERN })),
  /** The key being rotated away from: still opens old values until `npm run cli -- rotate-key` has run. */
  ENCRYPTION_KEY_PREVIOUS: Type.Optional(Type.String({ pattern: KEY_PATTERN })),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  /** '*', or comma-separated origins; unset: '*' in the embedded mode, the server's own origin only otherwise. */
  CORS_ORIGINS: Type.Optional(Type.String()),
  TRUST_PROXY: Type.Union(Flag.anyOf, { default: 'false' }),
  NOTIFY_SMS: Type.Union([Type.Literal('log'), Type.Literal('twilio')], { default: 'log' }),
  TWILIO_ACCOUNT_SID: Type.Optional(Type.String({ pattern: '^AC[0-9a-fA-F]{32}$' })),
  TWILIO_AUTH_TOKEN: Type.Optional(Type.String({ minLength: 8 })),
  TWILIO_FROM: Type.Optional(Type.String({ minLength: 3 })),
  TWILIO_API_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  NOTIFY_EMAIL: Type.Union([Type.Literal('log'), Type.Literal('smtp')], { default: 'log' }),
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  MAIL_FROM: Type.String({ default: 'CareQueue <no-reply@carequeue.local>' }),
  /** Run the outbox drain and reminder scan on node-cron ticks; tests turn it off and drive ticks. */
  NOTIFY_CRON: Type.Union(Flag.anyOf, { default: 'true' }),
  OUTBOX_DRAIN_CRON: Type.String({ default: '*/5 * * * * *' }),
  REMINDER_SCAN_CRON: Type.String({ default: '* * * * *' }),
  /** Deletes Idempotency-Keys past their replay window (every instance; the deletes are idempotent). */
  IDEMPOTENCY_CLEANUP_CRON: Type.String({ default: '*/15 * * * *' }),
  /** Recounts each doctor's completed visits of the last 90 days (sort=popular); every instance, idempotent. */
  POPULARITY_REFRESH_CRON: Type.String({ default: '*/30 * * * *' }),
  /** Recomputes every doctor's earliest bookable day (sort=soonest) as time passes; one instance at a time. */
  SOONEST_REFRESH_CRON: Type.String({ default: '* * * * *' }),
  NOTIFY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120000, default: 10000 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  DEFAULT_PHONE_REGION: Type.String({ pattern: '^[A-Z]{2}$', default: 'BD' }),
  RATE_LIMIT_AUTH: Type.Integer({ minimum: 1, default: 20 }),
  CANCEL_CUTOFF_MINUTES: Type.Integer({ minimum: 0, maximum: 10_080, default: 0 }),
  WAITLIST_OFFER_MINUTES: Type.Integer({ minimum: 1, maximum: 1440, default: 30 }),
  /** Postgres connections per instance (instances × this must stay under the server's max_connections). */
  DB_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 500, default: 20 }),
  /** How long a query waits for a free connection before the request answers 503 UNAVAILABLE. */
  DB_POOL_WAIT_MS: Type.Integer({ minimum: 100, maximum: 300_000, default: 30_000 }),
  /** Requests one instance works on at once; the next answers 503 UNAVAILABLE at once, with Retry-After. */
  MAX_IN_FLIGHT: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
  /** Mean event-loop delay (ms, sampled each second) above which requests answer 503 at once; 0 turns it off. */
  MAX_EVENT_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1000 }),
});

export type Env = Static<typeof EnvSchema>;

export type Config = Readonly<
  Omit<
    Env,
    | 'REDIS_CLUSTER_NODES'
    | 'SEED_DEMO'
    | 'TRUST_PROXY'
    | 'ENCRYPTION_KEY'
    | 'ENCRYPTION_KEY_PREVIOUS'
    | 'JWT_SECRET'
    | 'PUBLIC_URL'
    | 'CORS_ORIGINS'
  > & {
    /** true when no DATABASE_URL is set: PGlite, in-memory queue store, log transports. */
    EMBEDDED: boolean;
    SEED_DEMO: boolean;
    TRUST_PROXY: boolean;
    JWT_SECRET: string;
    ENCRYPTION_KEY: Buffer;
    ENCRYPTION_KEY_PREVIOUS: Buffer | null;
    PUBLIC_URL: string;
    /** '*' (any origin), comma-separated origins, or '' (same origin only). */
    CORS_ORIGINS: string;
    /** Redis Cluster nodes, parsed; absent when REDIS_CLUSTER_NODES is not set. */
    REDIS_CLUSTER_NODES?: readonly { host: string; port: number }[];
  }
>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const TRUE = new Set(['true', '1']);

/** Reads, defaults and checks the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key];
    if (value === undefined || value === '') continue;
    // Value.Convert would quietly truncate "3.5" to 3; a number that is not whole is a mistake worth naming.
    if (EnvSchema.properties[key as keyof Env].type === 'integer' && !/^\d+$/.test(value.trim())) {
      throw new ConfigError(`${key}: Expected a whole number (got ${shown(key, value)})`);
    }
    raw[key] = value;
  }
  const env = Value.Convert(EnvSchema, Value.Default(EnvSchema, raw)) as Env;
  const first = Value.Errors(EnvSchema, env).First();
  if (first) {
    const name = first.path.replace(/^\//, '') || 'environment';
    throw new ConfigError(`${name}: ${first.message} (got ${shown(name, source[name])})`);
  }
  const embedded = env.DATABASE_URL === undefined;
  for (const name of [
    'OUTBOX_DRAIN_CRON',
    'REMINDER_SCAN_CRON',
    'IDEMPOTENCY_CLEANUP_CRON',
    'POPULARITY_REFRESH_CRON',
    'SOONEST_REFRESH_CRON',
  ] as const) {
    if (!cron.validate(env[name])) throw new ConfigError(`${name}: not a valid cron expression`);
  }
  requireTogether(env, 'ADMIN_EMAIL', 'ADMIN_PASSWORD');
  if (env.REDIS_URL && env.REDIS_CLUSTER_NODES) {
    throw new ConfigError(
      'REDIS_CLUSTER_NODES: set either REDIS_URL (one server) or REDIS_CLUSTER_NODES, not both',
    );
  }
  requireTogether(env, 'S3_ENDPOINT', 'S3_BUCKET');
  requireTogether(env, 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY');
  if (env.NOTIFY_SMS === 'twilio') requireAll(env, 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_FROM');
  if (env.NOTIFY_EMAIL === 'smtp') requireAll(env, 'SMTP_URL');
  if (!embedded && !env.JWT_SECRET) {
    throw new ConfigError('JWT_SECRET: required when DATABASE_URL is set (at least 32 characters)');
  }
  if (!embedded && !env.ENCRYPTION_KEY) {
    throw new ConfigError('ENCRYPTION_KEY: required when DATABASE_URL is set (64 hex characters or base64)');
  }
  const dataDir = resolve(env.DATA_DIR);
  const jwtSecret =
    env.JWT_SECRET ?? keptSecret(dataDir, 'jwt-secret', () => randomBytes(48).toString('base64url'));
  const encryptionKey =
    env.ENCRYPTION_KEY ?? keptSecret(dataDir, 'encryption-key', () => randomBytes(32).toString('hex'));
  return Object.freeze({
    ...env,
    DATA_DIR: dataDir,
    EMBEDDED: embedded,
    SEED_DEMO: env.SEED_DEMO === undefined ? embedded : TRUE.has(env.SEED_DEMO),
    TRUST_PROXY: TRUE.has(env.TRUST_PROXY),
    JWT_SECRET: jwtSecret,
    ENCRYPTION_KEY: decodeKey(encryptionKey),
    ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY_PREVIOUS ? decodeKey(env.ENCRYPTION_KEY_PREVIOUS) : null,
    PUBLIC_URL: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ''),
    CORS_ORIGINS: corsOrigins(env.CORS_ORIGINS, embedded),
    REDIS_CLUSTER_NODES:
      env.REDIS_CLUSTER_NODES === undefined ? undefined : clusterNodes(env.REDIS_CLUSTER_NODES),
  });
}

/** Unset: any origin for the embedded demo, none but the server's own once DATABASE_URL says production. */
function corsOrigins(value: string | undefined, embedded: boolean): string {
  if (value === undefined) return embedded ? '*' : '';
  const origins = value
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (origins.includes('*')) return '*';
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(origin)) {
      throw new ConfigError(
        `CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://clinic.example`,
      );
    }
  }
  return origins.map((o) => o.replace(/\/$/, '')).join(',');
}

function clusterNodes(value: string): { host: string; port: number }[] {
  return value.split(',').map((node) => {
    const [host, port] = node.trim().split(':');
    if (Number(port) < 1 || Number(port) > 65535) {
      throw new ConfigError(`REDIS_CLUSTER_NODES: ${JSON.stringify(node.trim())} has no valid port`);
    }
    return { host, port: Number(port) };
  });
}

/** Secrets (and URLs that may carry a password) are never echoed into logs. */
const SECRET = /SECRET|PASSWORD|TOKEN|KEY|^(DATABASE|REDIS|SMTP)_URL$/;

function shown(name: string, value: string | undefined): string {
  if (value === undefined) return 'nothing';
  return SECRET.test(name) ? `a value of ${value.length} characters` : JSON.stringify(value);
}

function requireAll(env: Env, ...names: (keyof Env)[]): void {
  for (const name of names) {
    if (env[name] === undefined) throw new ConfigError(`${name}: required by the chosen configuration`);
  }
}

function requireTogether(env: Env, a: keyof Env, b: keyof Env): void {
  if ((env[a] === undefined) !== (env[b] === undefined)) {
    throw new ConfigError(`${env[a] === undefined ? a : b}: ${a} and ${b} must be set together`);
  }
}

function decodeKey(text: string): Buffer {
  return /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
}

/** Embedded mode keeps generated secrets in DATA_DIR so tokens and encrypted notes survive restarts. */
function keptSecret(dataDir: string, name: string, make: () => string): string {
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const value = make();
  writeFileSync(file, value, { mode: 0o600 });
  return value;
}
