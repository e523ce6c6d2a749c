// Waiting in tests: poll a condition on the real clock until it holds or a deadline passes.

/**
 * Polls `check` every `everyMs` until it returns true; throws naming `what` once `timeoutMs` has passed.
 * @param timeoutMs @default 10000
 * @param everyMs @default 20
 */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
