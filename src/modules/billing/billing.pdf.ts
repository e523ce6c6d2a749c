// An invoice as a one-page A4 PDF (pdfkit, its built-in Helvetica: Latin text only).
import { DateTime } from 'luxon';
import PDFDocument from 'pdfkit';
import type { InvoiceView } from './billing.service.js';

const amount = (currency: string, value: number) =>
  `${currency} ${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

const STATUS_LINE: Record<InvoiceView['status'], string> = {
  pending: 'Payment due at the hospital',
  paid: 'Paid',
  void: 'Void',
};

export function invoicePdf(invoice: InvoiceView): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margin: 56,
    info: { Title: `Invoice ${invoice.number}`, Author: invoice.hospital.name },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const left = doc.page.margins.left;
  const right = doc.page.width - doc.page.margins.right;
  doc.font('Helvetica-Bold').fontSize(18).text(invoice.hospital.name);
  doc
    .font('Helvetica')
    .fontSize(10)
    .text(invoice.hospital.address || ' ');
  doc.moveDown(1.5);
  doc.font('Helvetica-Bold').fontSize(14).text(`Invoice ${invoice.number}`);
  doc.font('Helvetica').fontSize(10);
  const issued = DateTime.fromISO(invoice.issuedAt, { zone: invoice.timezone }).toFormat('d LLL yyyy, HH:mm');
  doc.text(`Issued: ${issued}`);
  doc.text(`Patient: ${invoice.patientName ?? '-'}`);
  doc.text(`Visit: ${invoice.doctor.name}, ${invoice.visitDate}, serial ${invoice.serial}`);
  doc.moveDown(1.5);

  const row = (label: string, value: string, bold = false) => {
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(11);
    doc.text(label, left, y, { width: right - left - 140 });
    doc.text(value, right - 140, y, { width: 140, align: 'right' });
    doc.moveDown(0.4);
  };
  row('Description', 'Amount', true);
  doc.moveTo(left, doc.y).lineTo(right, doc.y).stroke();
  doc.moveDown(0.4);
  for (const item of invoice.items) row(item.description, amount(invoice.currency, item.amount));
  doc.moveTo(left, doc.y).lineTo(right, doc.y).stroke();
  doc.moveDown(0.4);
  row('Total', amount(invoice.currency, invoice.total), true);
  doc.moveDown(1);
  doc.font('Helvetica-Bold').fontSize(12).text(STATUS_LINE[invoice.status], left);
  doc.font('Helvetica').fontSize(10);
  for (const p of invoice.payments) {
    const at = DateTime.fromISO(p.recordedAt, { zone: invoice.timezone }).toFormat('d LLL yyyy');
    const what = p.kind === 'payment' ? 'Paid' : 'Refunded';
    doc.text(
      `${what} ${amount(invoice.currency, p.amount)} by ${p.method.replace('_', ' ')} on ${at}` +
        `${p.reference ? ` (ref. ${p.reference})` : ''}`,
    );
  }
  if (invoice.voidReason) doc.text(`Void: ${invoice.voidReason}`);
  doc.end();
  return done;
}
