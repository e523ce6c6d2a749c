// In-process, per-key turns. Bookings for one session day take a turn before they take a pool connection:
// a burst then waits in memory instead of parking every connection of the pool on the same row lock
// (which would starve bookings for every other queue of this instance). Postgres's row lock stays the
// guard across instances; this only keeps one instance from starving itself.
//
// A holder may release its turn early (just before its commit): the next holder then opens its transaction
// and waits on the row lock for about one round trip instead of waiting for the commit and the after-commit
// work. A holder may also leave a note for those queued behind it (e.g. "the day is full as of now"),
// dropped when the key's queue of waiters empties.
export interface Turn<N> {
  /** Whether anyone was ahead of this holder. */
  waited: boolean;
  /** The latest note left on this key by an earlier holder while this one waited, if any. */
  note: N | undefined;
  /** Lets the next holder in; idempotent. */
  release(): void;
}

export class KeyedMutex<N = unknown> {
  readonly #tails = new Map<string, Promise<void>>();
  readonly #notes = new Map<string, { note: N; seq: number }>();
  #seq = 0;

  async acquire(key: string): Promise<Turn<N>> {
    const ahead = this.#tails.get(key);
    const previous = ahead ?? Promise.resolve();
    const arrived = ++this.#seq;
    let open!: () => void;
    const turn = new Promise<void>((resolve) => {
      open = resolve;
    });
    const tail = previous.then(() => turn);
    this.#tails.set(key, tail);
    await previous;
    const noted = this.#notes.get(key);
    let released = false;
    return {
      waited: ahead !== undefined,
      note: noted && noted.seq > arrived ? noted.note : undefined,
      release: () => {
        if (released) return;
        released = true;
        open();
        if (this.#tails.get(key) === tail) {
          this.#tails.delete(key);
          this.#notes.delete(key);
        }
      },
    };
  }

  /** Leaves a note for the holders now queued on `key` (seen only by those who arrived before it). */
  note(key: string, note: N): void {
    if (this.#tails.has(key)) this.#notes.set(key, { note, seq: ++this.#seq });
  }

  /** Runs `work` when every earlier holder of `key` is done; `waited` tells whether anyone was ahead. */
  async run<T>(key: string, work: (waited: boolean) => Promise<T>): Promise<T> {
    const turn = await this.acquire(key);
    try {
      return await work(turn.waited);
    } finally {
      turn.release();
    }
  }

  get size(): number {
    return this.#tails.size;
  }
}
