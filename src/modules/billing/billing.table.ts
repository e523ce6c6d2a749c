import type { ColumnType, Generated, Selectable } from 'kysely';
import type { Timestamp } from '../accounts/accounts.table.js';

/** numeric(10,2): a string when read. */
type Money = ColumnType<string, string | number, string | number>;

export const INVOICE_STATUSES = ['pending', 'paid', 'void'] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];
export const PAYMENT_METHODS = ['cash', 'card', 'mobile_wallet'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/** The last invoice number given per hospital and year; incremented inside the completing transaction. */
export interface InvoiceCountersTable {
  hospitalId: string;
  year: number;
  lastNumber: number;
}

export interface InvoicesTable {
  id: Generated<string>;
  appointmentId: string;
  hospitalId: string;
  doctorId: string;
  accountId: string | null;
  year: number;
  seq: number;
  /** `<hospital code>-<year>-<seq, 6 digits>`. */
  number: string;
  currency: string;
  total: Money;
  status: Generated<InvoiceStatus>;
  issuedAt: Timestamp;
  /** The hospital's local date of issue (YYYY-MM-DD). */
  issuedOn: ColumnType<string, string, string>;
  paidAt: Timestamp | null;
  voidedAt: Timestamp | null;
  voidReason: string | null;
  /** SHA-256 of the token in the invoice message's PDF link. */
  linkTokenHash: string;
  linkExpiresAt: Timestamp;
}

export interface InvoiceItemsTable {
  id: Generated<string>;
  invoiceId: string;
  position: number;
  kind: 'consultation' | 'service';
  description: string;
  amount: Money;
}

/** Money received for an invoice, and money given back (a refund voids a paid invoice). */
export interface PaymentsTable {
  id: Generated<string>;
  invoiceId: string;
  kind: 'payment' | 'refund';
  method: PaymentMethod;
  amount: Money;
  reference: string | null;
  reason: string | null;
  recordedBy: string;
  recordedAt: Timestamp;
}

export interface BillingTables {
  invoiceCounters: InvoiceCountersTable;
  invoices: InvoicesTable;
  invoiceItems: InvoiceItemsTable;
  payments: PaymentsTable;
}

export type Invoice = Selectable<InvoicesTable>;
export type InvoiceItem = Selectable<InvoiceItemsTable>;
export type Payment = Selectable<PaymentsTable>;
