// The billing rules as plain functions: what a visit is billed, how an invoice is numbered, and which status
// changes an invoice takes.
import { AppError, invalidField } from '../../errors.js';
import type { InvoiceStatus } from './billing.table.js';

export interface BillableVisit {
  /** The fee quoted when the place was booked (walk-ins have none). */
  bookedFee: string;
  /** The session's fee now. */
  sessionFee: string;
  serviceName: string | null;
  serviceFee: string | null;
}

export interface InvoiceLine {
  kind: 'consultation' | 'service';
  description: string;
  amount: number;
}

const cents = (value: string | number | null) => Math.round(Number(value ?? 0) * 100);

/**
 * The lines of a visit's invoice: the consultation at the fee quoted at booking (the session's fee for a
 * walk-in, who was quoted none) and the service when it has a fee of its own. No line, no invoice.
 */
export function invoiceLines(visit: BillableVisit): InvoiceLine[] {
  const consultation = cents(visit.bookedFee) > 0 ? cents(visit.bookedFee) : cents(visit.sessionFee);
  const lines: InvoiceLine[] = [];
  if (consultation > 0)
    lines.push({ kind: 'consultation', description: 'Consultation', amount: consultation / 100 });
  if (visit.serviceName && cents(visit.serviceFee) > 0)
    lines.push({ kind: 'service', description: visit.serviceName, amount: cents(visit.serviceFee) / 100 });
  return lines;
}

export function invoiceTotal(lines: InvoiceLine[]): number {
  return lines.reduce((sum, line) => sum + cents(line.amount), 0) / 100;
}

/** `DMC-2026-000123`: the hospital's code, the year of issue and the number within that year. */
export function invoiceNumber(hospitalCode: string, year: number, seq: number): string {
  return `${hospitalCode}-${year}-${String(seq).padStart(6, '0')}`;
}

/** Only a pending invoice is paid. */
export function assertPayable(status: InvoiceStatus): void {
  if (status !== 'pending')
    throw new AppError('INVALID_TRANSITION', `A ${status} invoice cannot be paid`, { status });
}

/** A pending invoice is voided with a reason; a paid one also needs the refund that gives the money back. */
export function assertVoidable(status: InvoiceStatus, hasRefund: boolean): void {
  if (status === 'void') throw new AppError('INVALID_TRANSITION', 'The invoice is already void', { status });
  if (status === 'paid' && !hasRefund)
    throw invalidField('body.refund', 'is required to void a paid invoice');
  if (status === 'pending' && hasRefund) throw invalidField('body.refund', 'is only for a paid invoice');
}
