// Browser-test harness: the real server as a child process (embedded mode, its own DATA_DIR and port) and
// Debian's Chromium driven by playwright-core.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '../..');
export const SCREENSHOTS = join(ROOT, 'docs/screenshots');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const DEMO_PASSWORD = 'carequeue-demo';

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export async function tempDataDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'carequeue-e2e-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunningServer {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** SIGKILL: the process gets no chance to close anything. */
  kill: () => Promise<void>;
  stop: () => Promise<void>;
}

/** The server in the embedded mode; `env` adds to or overrides its environment (e.g. a real SMTP server). */
export async function startServer(
  dataDir: string,
  port: number,
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_AUTH: '1000',
      // The shared 2-core machine lags under other work; the browser tests are not about overload refusals.
      MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d) => {
    log += d;
  });
  child.stderr?.on('data', (d) => {
    log += d;
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${log}`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not become healthy:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { url, child, output: () => log, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

export interface ConsoleWatch {
  errors: string[];
  /** While true, connection failures (the server is down on purpose) are expected and not recorded. */
  outage: boolean;
  /** Refusals a step provokes on purpose (e.g. `HTTP 409 PATCH /v1/sessions/`); matched against each record. */
  expected?: RegExp[];
}

function record(watch: ConsoleWatch, line: string): void {
  if (watch.expected?.some((pattern) => pattern.test(line))) return;
  watch.errors.push(line);
}

const NETWORK_NOISE =
  /ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|WebSocket connection to|Failed to load resource/;

export function watchConsole(page: Page, name: string, watch: ConsoleWatch): void {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (watch.outage && NETWORK_NOISE.test(msg.text())) return;
    record(watch, `${name}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => watch.errors.push(`${name}: ${err.message}`));
  // The console only says "Failed to load resource"; name the request so a failure explains itself.
  page.on('response', (res) => {
    if (res.status() >= 400 && !(watch.outage && res.status() >= 500)) {
      record(watch, `${name}: HTTP ${res.status()} ${res.request().method()} ${new URL(res.url()).pathname}`);
    }
  });
}

/** JSON call to the API (test set-up only; the flow under test goes through the pages). */
export async function call<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const res = await fetch(`${base}/v1${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Creates a doctor's session and has an admin confirm it (a sitting at a new hospital waits for that); a demo
 * sitting overlapping it (the demo doctor sits every day) is removed first.
 */
export async function confirmedSession(
  base: string,
  doctorId: string,
  token: string,
  body: Record<string, unknown>,
  adminToken: string,
) {
  for (let attempt = 0; ; attempt++) {
    try {
      const created = await call<{ id: string }>(base, 'POST', `/doctors/${doctorId}/sessions`, body, token);
      await call(base, 'POST', `/sessions/${created.id}/confirm`, {}, adminToken);
      return created;
    } catch (err) {
      const overlap = /→ 409 .*"sessionId":"([0-9a-f-]{36})"/.exec(String(err));
      if (!overlap || attempt > 5) throw err;
      await call(base, 'DELETE', `/sessions/${overlap[1]}?cancelAffected=true`, undefined, token);
    }
  }
}

export async function login(base: string, email: string, password = DEMO_PASSWORD) {
  return call<{
    accessToken: string;
    user: { id: string; doctorId?: string | null; profileId?: string | null };
  }>(base, 'POST', '/auth/login', { email, password });
}

/**
 * A fixed-offset zone (Etc/GMT±N) where it is early on the same calendar date as UTC right now, so a session
 * later "today" is always bookable and its queue operable whatever time the tests run.
 */
export function earlyZoneToday(now = new Date()): {
  timezone: string;
  localHour: number;
  date: string;
  weekday: number;
} {
  const utcHour = now.getUTCHours();
  const localHour = Math.max(0, utcHour - 12);
  const offset = localHour - utcHour; // local = UTC + offset, offset in [-12, 0]
  const timezone = offset === 0 ? 'Etc/GMT' : `Etc/GMT+${-offset}`; // Etc/GMT+N means UTC−N
  const date = now.toISOString().slice(0, 10);
  const weekday = ((now.getUTCDay() + 6) % 7) + 1;
  return { timezone, localHour, date, weekday };
}
