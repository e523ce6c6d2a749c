// In-process, per-key serialisation. Bookings for one session day take it before they take a pool
// connection: a burst then waits in memory instead of holding every connection idle on the same row lock
// (Postgres's row lock stays the guard across instances; this only keeps one instance from starving itself).
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `work` when every earlier holder of `key` is done; `waited` tells whether anyone was ahead. */
  async run<T>(key: string, work: (waited: boolean) => Promise<T>): Promise<T> {
    const ahead = this.#tails.get(key);
    const previous = ahead ?? Promise.resolve();
    let release!: () => void;
    const turn = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => turn);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await work(ahead !== undefined);
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  get size(): number {
    return this.#tails.size;
  }
}
