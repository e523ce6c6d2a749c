// Real server processes (`node --import tsx src/server.ts`) for multi-instance tests and the fan-out bench.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';

const ROOT = join(import.meta.dirname, '../..');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts one instance on 127.0.0.1 with an OS-chosen port; resolves when it listens. */
export function startServer(
  env: { DATABASE_URL: string; REDIS_PREFIX: string } & (
    | { REDIS_URL: string }
    | { REDIS_CLUSTER_NODES: string }
  ),
): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      // One of the two comes from `env`; the other must not leak in from the runner's environment.
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: '',
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      NOTIFY_SMS: 'log',
      NOTIFY_EMAIL: 'log',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`server did not start in time\n${out}\n${err}`));
    }, 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-8000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-8000);
      const match = /running at http:\/\/localhost:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${match[1]}`, child, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}\n${out}\n${err}`));
    });
  });
}
