// The app's real logger options (redaction, serializers) at trace level, writing into an array to search.
import { Writable } from 'node:stream';
import type { FastifyServerOptions } from 'fastify';
import { loggerOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from './app.js';

export function captureLogs(): { logger: FastifyServerOptions['logger']; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const { transport: _pretty, ...options } = loggerOptions(
    loadConfig({ JWT_SECRET: TEST_JWT_SECRET, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'trace' }),
  ) as Record<string, unknown>;
  return { logger: { ...options, stream } as FastifyServerOptions['logger'], lines };
}
