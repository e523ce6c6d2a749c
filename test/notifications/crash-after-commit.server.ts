// Test-only process entry (crash-after-commit.test.ts): src/server.ts, except that with CRASH_AFTER_CALL=N the
// process SIGKILLs itself as soon as the N-th transaction that calls a patient has committed, before any
// after-commit handler runs and before the HTTP answer: the worst moment for a message written after commit.
import { DomainEvents, type Emit } from '../../src/events.js';

const crashAfter = Number(process.env.CRASH_AFTER_CALL ?? 0);
if (crashAfter > 0) {
  let calls = 0;
  let committedCall = false;
  const transaction = DomainEvents.prototype.transaction;
  DomainEvents.prototype.transaction = function (this: DomainEvents, db, work) {
    return transaction.call(this, db, (trx, emit) => {
      const watched: Emit = (name, payload) => {
        if (name === 'queue.changed' && (payload as { type?: string }).type === 'called') calls++;
        return emit(name, payload);
      };
      return work(trx, watched);
    }) as never;
  };
  const dispatch = DomainEvents.prototype.dispatchCommitted;
  DomainEvents.prototype.dispatchCommitted = function (this: DomainEvents, name, payload) {
    // Commit handlers run only after the transaction committed; the first one of the N-th call is the moment.
    if (calls >= crashAfter && !committedCall) {
      committedCall = true;
      process.kill(process.pid, 'SIGKILL');
    }
    return dispatch.call(this, name, payload);
  };
}

await import('../../src/server.js');
