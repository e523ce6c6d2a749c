// A real `node --import tsx src/server.ts` process with notification settings of the test's choosing (the
// queue tests' helper pins the log transports), for exactly-once tests across processes.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';

const ROOT = join(import.meta.dirname, '../..');
/** Upper bound for a start on a busy machine; exceeding it fails the test instead of hanging it. */
const START_LIMIT_MS = 90_000;
/** SIGTERM gets this long to finish in-flight ticks before SIGKILL. */
const STOP_LIMIT_MS = 15_000;

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** What the process printed on stderr (last 8 kB), for failure messages. */
  stderr(): string;
  /** SIGTERM, SIGKILL after the grace period; resolves with the exit code (null when killed). */
  stop(): Promise<number | null>;
}

/** @param entry the process entry, relative to the repository root @default 'src/server.ts' */
export function startServer(env: Record<string, string>, entry = 'src/server.ts'): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      HOST: '127.0.0.1',
      PORT: '0',
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_LIMIT_MS);
    const code = await exit;
    clearTimeout(timer);
    return code;
  };
  child.stderr?.on('data', (chunk: Buffer) => {
    err = (err + chunk.toString()).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in time\n${out}\n${err}`));
    }, START_LIMIT_MS);
    child.stdout?.on('data', (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-8000);
      const match = /CareQueue is running at http:\/\/localhost:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${match[1]}`, child, stderr: () => err, stop });
      }
    });
    exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting\n${out}\n${err}`));
    });
  });
}
