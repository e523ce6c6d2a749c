// Unit tests of the pure billing and feedback rules (billing.rules.ts, feedback.rules.ts): no database, no HTTP.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../../src/errors.js';
import {
  assertPayable,
  assertVoidable,
  invoiceLines,
  invoiceNumber,
  invoiceTotal,
} from '../../src/modules/billing/billing.rules.js';
import { FEEDBACK_DAYS, feedbackRefusal } from '../../src/modules/feedback/feedback.rules.js';

const visit = { bookedFee: '500.00', sessionFee: '600.00', serviceName: null, serviceFee: null };

const codeOf = (fn: () => void) => {
  try {
    fn();
    return null;
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err.code;
  }
};

describe('invoice lines', () => {
  test('the consultation is billed at the fee quoted at booking, not the session’s fee of today', () => {
    assert.deepEqual(invoiceLines(visit), [
      { kind: 'consultation', description: 'Consultation', amount: 500 },
    ]);
  });

  test('a walk-in, quoted nothing, is billed the session’s fee; a service with a fee adds its line', () => {
    const lines = invoiceLines({ ...visit, bookedFee: '0.00', serviceName: 'X-ray', serviceFee: '350.50' });
    assert.deepEqual(
      lines.map((l) => [l.kind, l.amount]),
      [
        ['consultation', 600],
        ['service', 350.5],
      ],
    );
    assert.equal(invoiceTotal(lines), 950.5);
  });

  test('nothing billed gives no line; a free service adds none', () => {
    assert.deepEqual(
      invoiceLines({ bookedFee: '0', sessionFee: '0', serviceName: 'Check-up', serviceFee: '0' }),
      [],
    );
  });

  test('totals add in cents', () => {
    const lines = [0.1, 0.2].map((amount) => ({ kind: 'service' as const, description: 's', amount }));
    assert.equal(invoiceTotal(lines), 0.3);
  });
});

test('invoice numbers: code, year, six digits', () => {
  assert.equal(invoiceNumber('DMC', 2026, 123), 'DMC-2026-000123');
  assert.equal(invoiceNumber('H2', 2027, 1_000_000), 'H2-2027-1000000');
});

test('status changes: pay a pending invoice only; void with a refund exactly when paid', () => {
  assert.equal(
    codeOf(() => assertPayable('pending')),
    null,
  );
  assert.equal(
    codeOf(() => assertPayable('paid')),
    'INVALID_TRANSITION',
  );
  assert.equal(
    codeOf(() => assertPayable('void')),
    'INVALID_TRANSITION',
  );
  assert.equal(
    codeOf(() => assertVoidable('pending', false)),
    null,
  );
  assert.equal(
    codeOf(() => assertVoidable('pending', true)),
    'VALIDATION_FAILED',
  );
  assert.equal(
    codeOf(() => assertVoidable('paid', false)),
    'VALIDATION_FAILED',
  );
  assert.equal(
    codeOf(() => assertVoidable('paid', true)),
    null,
  );
  assert.equal(
    codeOf(() => assertVoidable('void', true)),
    'INVALID_TRANSITION',
  );
});

test('feedback: completed visits only, until FEEDBACK_DAYS after completion', () => {
  const completedAt = new Date('2026-05-04T06:00:00Z');
  const at = (days: number) => new Date(completedAt.getTime() + days * 86_400_000);
  assert.equal(feedbackRefusal({ status: 'completed', completedAt }, at(0)), null);
  assert.equal(feedbackRefusal({ status: 'completed', completedAt }, at(FEEDBACK_DAYS)), null);
  const reasonOf = (refusal: AppError | null) =>
    (refusal?.details as { reason?: string } | undefined)?.reason;
  assert.equal(
    reasonOf(feedbackRefusal({ status: 'completed', completedAt }, at(FEEDBACK_DAYS + 0.001))),
    'window_closed',
  );
  assert.equal(reasonOf(feedbackRefusal({ status: 'called', completedAt: null }, at(0))), 'not_completed');
});
