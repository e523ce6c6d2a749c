// A printable prescription: HTML (every value escaped) or PDF (pdfkit), both with the verification QR.
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import type { PrescriptionItem } from './care.schema.js';

export interface PrintedPrescription {
  hospital: { name: string; address: string };
  doctor: { name: string; licenseNo: string | null };
  patientName: string;
  /** The local date of issue, YYYY-MM-DD. */
  date: string;
  items: PrescriptionItem[];
  verifyUrl: string;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

function itemLine(item: PrescriptionItem): { title: string; detail: string } {
  return {
    title: [item.drug, item.strength].filter(Boolean).join(' '),
    detail: [item.dose, item.frequency, item.duration, item.instructions].filter(Boolean).join(' · '),
  };
}

export async function prescriptionHtml(p: PrintedPrescription): Promise<string> {
  const qr = await QRCode.toString(p.verifyUrl, { type: 'svg', margin: 1, width: 120 });
  const items = p.items
    .map((item) => {
      const line = itemLine(item);
      return `<li><strong>${escapeHtml(line.title)}</strong><br>${escapeHtml(line.detail)}</li>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Prescription</title>
<meta name="robots" content="noindex">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;color:#111}
header{display:flex;justify-content:space-between;border-bottom:2px solid #111;padding-bottom:.5rem}
ol{padding-left:1.2rem}li{margin:.6rem 0}footer{display:flex;gap:1rem;align-items:center;margin-top:2rem}
@media print{body{margin:0}}</style></head>
<body>
<header><div><h1 style="margin:0;font-size:1.3rem">${escapeHtml(p.hospital.name)}</h1>
<div>${escapeHtml(p.hospital.address)}</div></div>
<div style="text-align:right"><div>${escapeHtml(p.doctor.name)}</div>
<div>Licence no. ${escapeHtml(p.doctor.licenseNo ?? '—')}</div><div>${escapeHtml(p.date)}</div></div></header>
<p>Patient: <strong>${escapeHtml(p.patientName)}</strong></p>
<h2 style="font-size:1.6rem;margin:.5rem 0">℞</h2>
<ol>
${items}
</ol>
<footer><div aria-label="Verification QR code">${qr}</div>
<div>Check this prescription at<br><a href="${escapeHtml(p.verifyUrl)}">${escapeHtml(p.verifyUrl)}</a></div></footer>
</body></html>`;
}

export async function prescriptionPdf(p: PrintedPrescription): Promise<Buffer> {
  const qr = await QRCode.toBuffer(p.verifyUrl, { type: 'png', margin: 1, width: 240 });
  const doc = new PDFDocument({ size: 'A5', margin: 36, info: { Title: 'Prescription' } });
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.fontSize(14).text(p.hospital.name, { continued: false });
  doc.fontSize(9).text(p.hospital.address);
  doc.moveDown(0.5);
  doc.fontSize(10).text(`${p.doctor.name} · Licence no. ${p.doctor.licenseNo ?? '—'}`);
  doc.text(`Date: ${p.date}`);
  doc.text(`Patient: ${p.patientName}`);
  doc.moveDown();
  doc.fontSize(16).text('Rx');
  doc.fontSize(10);
  p.items.forEach((item, i) => {
    const line = itemLine(item);
    doc
      .moveDown(0.4)
      .font('Helvetica-Bold')
      .text(`${i + 1}. ${line.title}`);
    doc.font('Helvetica').text(line.detail, { indent: 14 });
  });
  doc.moveDown();
  doc.image(qr, { width: 90 });
  doc.fontSize(8).text(`Verify: ${p.verifyUrl}`);
  doc.end();
  return done;
}
