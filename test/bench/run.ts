// npm run bench [-- name …]: runs each benchmark as its own process, one after another. Each prints its
// figures and its ratio against a baseline measured in the same run; this lists how each process ended.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const BENCHES = [
  'queue-scaling',
  'desk-burst',
  'reads',
  'booking-rush',
  'socket-memory',
  'search',
  'booking',
  'reminders',
  'reports',
  'fanout',
] as const;

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(BENCHES as readonly string[]).includes(name));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(', ')} (known: ${BENCHES.join(', ')})`);
  process.exit(2);
}
const selected = wanted.length ? wanted : [...BENCHES];
const results: { name: string; status: number; seconds: number }[] = [];
for (const name of selected) {
  console.log(`\n=== bench: ${name} ===`);
  const file = join(import.meta.dirname, `${name}.ts`);
  if (!existsSync(file)) {
    console.log(`(${name}.ts is not in this tree yet)`);
    results.push({ name, status: -1, seconds: 0 });
    continue;
  }
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], {
    stdio: 'inherit',
  });
  results.push({ name, status: run.status ?? -1, seconds: (Date.now() - started) / 1000 });
}
console.log('\n=== summary ===');
for (const r of results) console.log(`${r.name.padEnd(14)} exit ${r.status}  ${r.seconds.toFixed(0)} s`);
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
