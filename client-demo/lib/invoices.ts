// A patient's invoices on their appointments: one list read (GET /v1/invoices), shown per completed visit
// with its number, total and status, and the PDF fetched with the session (Accept: application/pdf).
import { accessToken, api, type PageOf, refreshSession } from './api.js';
import { h, toast } from './dom.js';
import { money } from './money.js';
import { pill } from './widgets.js';

export interface InvoiceRow {
  id: string;
  number: string;
  appointmentId: string;
  status: 'pending' | 'paid' | 'void';
  currency: string;
  total: number;
}

const STATUS: Record<InvoiceRow['status'], string> = { pending: 'To pay', paid: 'Paid', void: 'Void' };

/** The caller's invoices by appointment id (the newest 100). */
export async function loadInvoices(): Promise<Map<string, InvoiceRow>> {
  const page = await api.get<PageOf<InvoiceRow>>('/invoices?limit=100');
  return new Map(page.items.map((i) => [i.appointmentId, i]));
}

async function openPdf(appointmentId: string) {
  const fetchPdf = () =>
    fetch(`/v1/appointments/${appointmentId}/invoice`, {
      headers: { accept: 'application/pdf', authorization: `Bearer ${accessToken() ?? ''}` },
    });
  let res = await fetchPdf();
  if (res.status === 401 && (await refreshSession())) res = await fetchPdf();
  if (!res.ok) {
    toast('The invoice cannot be opened now. Try again.', 'error');
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  window.open(url, '_blank', 'noopener');
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function invoicePart(invoice: InvoiceRow | undefined) {
  if (!invoice) return null;
  return h(
    'div',
    { class: 'row', 'data-testid': 'invoice' },
    h('span', {}, `Invoice ${invoice.number} · ${money(invoice.total, null, invoice.currency)}`),
    pill(
      invoice.status === 'paid' ? 'completed' : invoice.status === 'void' ? 'cancelled' : 'booked',
      STATUS[invoice.status],
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'secondary small',
        'data-testid': 'invoice-pdf',
        onclick: () => void openPdf(invoice.appointmentId),
      },
      'Invoice PDF',
    ),
  );
}
