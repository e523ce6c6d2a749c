// Invoices, their items, counters and payments: plain Kysely queries, no rules.
import { type Insertable, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { RecordScope } from '../../lib/listing.js';
import type { InvoiceItemsTable, InvoiceStatus, InvoicesTable, PaymentsTable } from './billing.table.js';

/** What an invoice is made from: the completed appointment, its session, service and hospital. */
export function findBillable(db: Executor, appointmentId: string) {
  return db
    .selectFrom('appointments as a')
    .innerJoin('sessionDays as q', 'q.id', 'a.queueId')
    .innerJoin('sessions as s', 's.id', 'q.sessionId')
    .innerJoin('hospitals as h', 'h.id', 'q.hospitalId')
    .leftJoin('services as sv', 'sv.id', 'a.serviceId')
    .leftJoin('patientProfiles as pp', 'pp.id', 'a.profileId')
    .select([
      'a.id',
      'a.doctorId',
      'a.fee as bookedFee',
      's.fee as sessionFee',
      'sv.name as serviceName',
      'sv.fee as serviceFee',
      'q.hospitalId',
      'h.code as hospitalCode',
      'h.currency',
      'h.timezone',
      'pp.accountId',
    ])
    .where('a.id', '=', appointmentId)
    .executeTakeFirst();
}

export type Billable = NonNullable<Awaited<ReturnType<typeof findBillable>>>;

/**
 * The next number of a hospital's year. The upsert takes the counter row's lock until the caller's
 * transaction ends, so concurrent completions queue here and a rollback gives the number back.
 */
export async function takeInvoiceNumber(trx: Executor, hospitalId: string, year: number): Promise<number> {
  const row = await trx
    .insertInto('invoiceCounters')
    .values({ hospitalId, year, lastNumber: 1 })
    .onConflict((oc) =>
      oc.columns(['hospitalId', 'year']).doUpdateSet({ lastNumber: sql`invoice_counters.last_number + 1` }),
    )
    .returning('lastNumber')
    .executeTakeFirstOrThrow();
  return row.lastNumber;
}

export async function insertInvoice(
  trx: Executor,
  invoice: Insertable<InvoicesTable>,
  items: Omit<Insertable<InvoiceItemsTable>, 'invoiceId'>[],
): Promise<string> {
  const { id } = await trx.insertInto('invoices').values(invoice).returning('id').executeTakeFirstOrThrow();
  await trx
    .insertInto('invoiceItems')
    .values(items.map((item) => ({ ...item, invoiceId: id })))
    .execute();
  return id;
}

export async function invoiceExistsFor(db: Executor, appointmentId: string): Promise<boolean> {
  const row = await db
    .selectFrom('invoices')
    .select('id')
    .where('appointmentId', '=', appointmentId)
    .executeTakeFirst();
  return row !== undefined;
}

/** An invoice with what its views show (hospital, doctor, patient, visit). */
function invoiceQuery(db: Executor) {
  return db
    .selectFrom('invoices as i')
    .innerJoin('appointments as a', 'a.id', 'i.appointmentId')
    .innerJoin('hospitals as h', 'h.id', 'i.hospitalId')
    .innerJoin('doctors as d', 'd.id', 'i.doctorId')
    .leftJoin('patientProfiles as pp', 'pp.id', 'a.profileId')
    .selectAll('i')
    .select([
      'h.name as hospitalName',
      'h.address as hospitalAddress',
      'h.timezone',
      'd.name as doctorName',
      'a.date as visitDate',
      'a.serial',
      sql<string | null>`coalesce(pp.name, a.walk_in_name)`.as('patientName'),
    ]);
}

export type InvoiceRow = NonNullable<Awaited<ReturnType<typeof findInvoice>>>;

export function findInvoice(db: Executor, id: string) {
  return invoiceQuery(db).where('i.id', '=', id).executeTakeFirst();
}

export function findInvoiceForAppointment(db: Executor, appointmentId: string) {
  return invoiceQuery(db).where('i.appointmentId', '=', appointmentId).executeTakeFirst();
}

export function findInvoiceByLink(db: Executor, tokenHash: string, now: Date) {
  return invoiceQuery(db)
    .where('i.linkTokenHash', '=', tokenHash)
    .where('i.linkExpiresAt', '>', now)
    .executeTakeFirst();
}

export function listInvoices(
  db: Executor,
  scope: RecordScope,
  filter: {
    status?: InvoiceStatus;
    from?: string;
    to?: string;
    hospitalId?: string;
    after: [string, string] | null;
    limit: number;
  },
) {
  let query = invoiceQuery(db);
  if ('accountId' in scope) query = query.where('i.accountId', '=', scope.accountId);
  if ('hospitalId' in scope) query = query.where('i.hospitalId', '=', scope.hospitalId);
  if (filter.hospitalId) query = query.where('i.hospitalId', '=', filter.hospitalId);
  if (filter.status) query = query.where('i.status', '=', filter.status);
  if (filter.from) query = query.where('i.issuedOn', '>=', filter.from);
  if (filter.to) query = query.where('i.issuedOn', '<=', filter.to);
  if (filter.after) {
    const [at, id] = filter.after;
    query = query.where(sql<boolean>`(i.issued_at, i.id) < (${at}::timestamptz, ${id}::uuid)`);
  }
  return query
    .orderBy('i.issuedAt', 'desc')
    .orderBy('i.id', 'desc')
    .limit(filter.limit + 1)
    .execute();
}

export function itemsOf(db: Executor, invoiceIds: string[]) {
  if (invoiceIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('invoiceItems')
    .selectAll()
    .where('invoiceId', 'in', invoiceIds)
    .orderBy('invoiceId')
    .orderBy('position')
    .execute();
}

export function paymentsOf(db: Executor, invoiceIds: string[]) {
  if (invoiceIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('payments')
    .selectAll()
    .where('invoiceId', 'in', invoiceIds)
    .orderBy('recordedAt')
    .execute();
}

export function lockInvoice(trx: Executor, id: string) {
  return trx
    .selectFrom('invoices')
    .select(['id', 'hospitalId', 'status', 'total'])
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export function updateInvoiceStatus(
  trx: Executor,
  id: string,
  change: { status: 'paid'; paidAt: Date } | { status: 'void'; voidedAt: Date; voidReason: string },
) {
  return trx.updateTable('invoices').set(change).where('id', '=', id).execute();
}

export function insertPayment(trx: Executor, payment: Insertable<PaymentsTable>) {
  return trx.insertInto('payments').values(payment).execute();
}
