// One app for a whole describe block: tests that do not interfere share it instead of each building one.

import type { TestContext } from 'node:test';
import { after, before } from 'node:test';
import { buildTestApp, type TestApp, type TestAppOptions } from './app.js';

/** Builds the app in a `before` hook and closes it in `after`; read `.current` inside tests. */
export function sharedTestApp(options: TestAppOptions = {}): { current: TestApp } {
  const holder = {} as { current: TestApp };
  const cleanups: (() => unknown)[] = [];
  before(async () => {
    const context = { after: (fn: () => unknown) => cleanups.push(fn) } as unknown as TestContext;
    holder.current = await buildTestApp(context, options);
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  return holder;
}
