// Invoices: issued in the transaction that completes a visit (a queue.changed handler), read by their owner,
// their hospital's staff and admins, paid and voided (with a refund when paid) by staff, every change audited.
import type { Static } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import { DateTime } from 'luxon';
import type { Clock } from '../../clock.js';
import type { Database, DB } from '../../db/database.js';
import { notFound } from '../../errors.js';
import { type DomainEvents, type Emit, writesNothingForBookings } from '../../events.js';
import { keysetPage, listStart, recordScope } from '../../lib/listing.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Principal } from '../../plugins/auth.js';
import type { AccountAdmin } from '../accounts/accounts.admin.service.js';
import * as repo from './billing.repository.js';
import { assertPayable, assertVoidable, invoiceLines, invoiceNumber, invoiceTotal } from './billing.rules.js';
import type { InvoiceListQuerySchema, PayBodySchema, VoidBodySchema } from './billing.schema.js';
import type { InvoiceItem, Payment } from './billing.table.js';

/** How long the PDF link of an invoice message works; the signed-in route works for good. */
export const INVOICE_LINK_DAYS = 90;

export interface BillingDeps {
  db: DB;
  clock: Clock;
  events: DomainEvents;
  accounts: Pick<AccountAdmin, 'audit'>;
  publicUrl: string;
}

export type InvoiceView = ReturnType<typeof toInvoiceView>;

export function toInvoiceView(row: repo.InvoiceRow, items: InvoiceItem[], payments: Payment[]) {
  return {
    id: row.id,
    number: row.number,
    appointmentId: row.appointmentId,
    status: row.status,
    currency: row.currency,
    total: Number(row.total),
    hospital: { id: row.hospitalId, name: row.hospitalName, address: row.hospitalAddress },
    doctor: { id: row.doctorId, name: row.doctorName },
    patientName: row.patientName,
    visitDate: row.visitDate,
    serial: row.serial,
    issuedOn: row.issuedOn,
    issuedAt: new Date(row.issuedAt).toISOString(),
    paidAt: row.paidAt ? new Date(row.paidAt).toISOString() : null,
    voidedAt: row.voidedAt ? new Date(row.voidedAt).toISOString() : null,
    voidReason: row.voidReason,
    timezone: row.timezone,
    items: items.map((i) => ({ kind: i.kind, description: i.description, amount: Number(i.amount) })),
    payments: payments.map((p) => ({
      kind: p.kind,
      method: p.method,
      amount: Number(p.amount),
      reference: p.reference,
      reason: p.reason,
      recordedAt: new Date(p.recordedAt).toISOString(),
    })),
  };
}

function canSee(principal: Principal, invoice: { accountId: string | null; hospitalId: string }): boolean {
  if (principal.role === 'admin') return true;
  if (principal.role === 'staff') return principal.hospitalId === invoice.hospitalId;
  if (principal.role === 'patient') return invoice.accountId === principal.id;
  return false;
}

export class BillingService {
  constructor(private readonly deps: BillingDeps) {}

  /**
   * Issues the invoice of every completed visit inside the completion's transaction. A booking makes nothing
   * due here, which keeps bookings on their one-statement path.
   */
  subscribe(events: DomainEvents = this.deps.events): void {
    events.inTransaction(
      'queue.changed',
      async (trx, e, emit) => {
        if (e.type === 'completed' && e.appointmentId) await this.issue(trx, e.appointmentId, emit);
      },
      { draftsBooking: writesNothingForBookings },
    );
  }

  /** The invoice of a completed visit with a fee; none when nothing is billed or it was already issued. */
  async issue(trx: Transaction<Database>, appointmentId: string, emit: Emit): Promise<void> {
    const visit = await repo.findBillable(trx, appointmentId);
    if (!visit || (await repo.invoiceExistsFor(trx, appointmentId))) return;
    const lines = invoiceLines(visit);
    if (lines.length === 0) return;
    const now = this.deps.clock.now();
    const local = DateTime.fromJSDate(now, { zone: visit.timezone });
    const seq = await repo.takeInvoiceNumber(trx, visit.hospitalId, local.year);
    const number = invoiceNumber(visit.hospitalCode, local.year, seq);
    const token = newOpaqueToken();
    const total = invoiceTotal(lines);
    const invoiceId = await repo.insertInvoice(
      trx,
      {
        appointmentId,
        hospitalId: visit.hospitalId,
        doctorId: visit.doctorId,
        accountId: visit.accountId,
        year: local.year,
        seq,
        number,
        currency: visit.currency,
        total,
        issuedAt: now,
        issuedOn: local.toISODate() as string,
        linkTokenHash: hashToken(token),
        linkExpiresAt: local.plus({ days: INVOICE_LINK_DAYS }).toJSDate(),
      },
      lines.map((line, position) => ({ ...line, position })),
    );
    await emit('invoice.issued', {
      invoiceId,
      appointmentId,
      number,
      total,
      currency: visit.currency,
      pdfUrl: `${this.deps.publicUrl}/v1/invoice-pdf/${token}`,
    });
  }

  async #view(row: repo.InvoiceRow): Promise<InvoiceView> {
    const [items, payments] = await Promise.all([
      repo.itemsOf(this.deps.db, [row.id]),
      repo.paymentsOf(this.deps.db, [row.id]),
    ]);
    return toInvoiceView(row, items, payments);
  }

  /** The invoice of an appointment, to its owner, its hospital's staff and admins; 404 to anyone else. */
  async forAppointment(principal: Principal, appointmentId: string): Promise<InvoiceView> {
    const row = await repo.findInvoiceForAppointment(this.deps.db, appointmentId);
    if (!row || !canSee(principal, row)) throw notFound('Invoice');
    return this.#view(row);
  }

  /** The invoice behind a message's PDF link, while the link works; 404 otherwise. */
  async byLink(token: string): Promise<InvoiceView> {
    const row = await repo.findInvoiceByLink(this.deps.db, hashToken(token), this.deps.clock.now());
    if (!row) throw notFound('Invoice');
    return this.#view(row);
  }

  async list(principal: Principal, query: Static<typeof InvoiceListQuerySchema>) {
    const after = listStart(query);
    const limit = query.limit ?? 20;
    const rows = await repo.listInvoices(this.deps.db, recordScope(principal, query.hospitalId), {
      status: query.status,
      from: query.from,
      to: query.to,
      hospitalId: query.hospitalId,
      after,
      limit,
    });
    const { page, nextCursor } = keysetPage(rows, limit, (r) => r.issuedAt);
    const ids = page.map((r) => r.id);
    const [items, payments] = await Promise.all([
      repo.itemsOf(this.deps.db, ids),
      repo.paymentsOf(this.deps.db, ids),
    ]);
    return {
      items: page.map((row) =>
        toInvoiceView(
          row,
          items.filter((i) => i.invoiceId === row.id),
          payments.filter((p) => p.invoiceId === row.id),
        ),
      ),
      nextCursor,
    };
  }

  /** Locks an invoice the staff member may act on (their hospital's; any for admins), or 404. */
  async #lockManaged(trx: Transaction<Database>, principal: Principal, id: string) {
    const invoice = await repo.lockInvoice(trx, id);
    if (!invoice || (principal.role !== 'admin' && principal.hospitalId !== invoice.hospitalId))
      throw notFound('Invoice');
    return invoice;
  }

  async pay(principal: Principal, id: string, body: Static<typeof PayBodySchema>, ip?: string) {
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      const invoice = await this.#lockManaged(trx, principal, id);
      assertPayable(invoice.status);
      await repo.insertPayment(trx, {
        invoiceId: id,
        kind: 'payment',
        method: body.method,
        amount: invoice.total,
        reference: body.reference ?? null,
        recordedBy: principal.id,
        recordedAt: now,
      });
      await repo.updateInvoiceStatus(trx, id, { status: 'paid', paidAt: now });
      await this.deps.accounts.audit(trx, {
        actorId: principal.id,
        action: 'invoice.pay',
        targetType: 'invoice',
        targetId: id,
        details: { method: body.method, amount: Number(invoice.total) },
        ip,
      });
    });
    return this.#reread(id);
  }

  async void(principal: Principal, id: string, body: Static<typeof VoidBodySchema>, ip?: string) {
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      const invoice = await this.#lockManaged(trx, principal, id);
      assertVoidable(invoice.status, body.refund !== undefined);
      if (body.refund)
        await repo.insertPayment(trx, {
          invoiceId: id,
          kind: 'refund',
          method: body.refund.method,
          amount: invoice.total,
          reference: body.refund.reference ?? null,
          reason: body.reason,
          recordedBy: principal.id,
          recordedAt: now,
        });
      await repo.updateInvoiceStatus(trx, id, { status: 'void', voidedAt: now, voidReason: body.reason });
      await this.deps.accounts.audit(trx, {
        actorId: principal.id,
        action: 'invoice.void',
        targetType: 'invoice',
        targetId: id,
        details: { reason: body.reason, refunded: body.refund ? Number(invoice.total) : 0 },
        ip,
      });
    });
    return this.#reread(id);
  }

  async #reread(id: string): Promise<InvoiceView> {
    const row = await repo.findInvoice(this.deps.db, id);
    if (!row) throw notFound('Invoice');
    return this.#view(row);
  }
}
