// Care records in the pages: the shapes the API answers, a record's summary lines, and opening a printable
// prescription (it needs the access token, so it is fetched and shown from a blob rather than linked).
import { accessToken } from './api.js';
import { h } from './dom.js';

export interface Vitals {
  bpSystolic?: number | null;
  bpDiastolic?: number | null;
  pulse?: number | null;
  temperature?: number | null;
  weight?: number | null;
}

export interface PrescriptionItem {
  drug: string;
  strength?: string | null;
  dose: string;
  frequency: string;
  duration: string;
  instructions?: string | null;
}

export interface Prescription {
  id: string;
  recordId: string;
  profileId: string;
  issuedAt: string;
  items: PrescriptionItem[];
}

export interface VisitRecord {
  id: string;
  appointmentId: string;
  profileId: string;
  version: number;
  complaint: string | null;
  findings: string | null;
  diagnosis: string | null;
  icd10: string | null;
  notes: string | null;
  vitals: Vitals;
  followUpDate: string | null;
  createdAt: string;
  prescriptions: Prescription[];
  attachments: { id: string; fileName: string }[];
}

export interface History {
  allergies: string[];
  chronicConditions: string[];
  currentMedications: string[];
  bloodGroup: string | null;
  notes: string | null;
}

export function vitalsText(v: Vitals): string {
  return [
    v.bpSystolic != null ? `BP ${v.bpSystolic}/${v.bpDiastolic}` : null,
    v.pulse != null ? `pulse ${v.pulse}` : null,
    v.temperature != null ? `${v.temperature} °C` : null,
    v.weight != null ? `${v.weight} kg` : null,
  ]
    .filter(Boolean)
    .join(' · ');
}

export function itemText(item: PrescriptionItem): string {
  return [
    [item.drug, item.strength].filter(Boolean).join(' '),
    item.dose,
    item.frequency,
    item.duration,
    item.instructions,
  ]
    .filter(Boolean)
    .join(' · ');
}

/** A visit record as a card: diagnosis, vitals, notes, its prescriptions with a print button. */
export function recordCard(record: VisitRecord) {
  return h(
    'article',
    { class: 'card', 'data-testid': 'visit-record' },
    h('h3', { style: 'margin:0' }, record.diagnosis ?? 'Visit', record.icd10 ? ` (${record.icd10})` : ''),
    h('div', { class: 'muted' }, new Date(record.createdAt).toLocaleDateString()),
    record.complaint ? h('p', {}, record.complaint) : null,
    vitalsText(record.vitals) ? h('p', { class: 'muted' }, vitalsText(record.vitals)) : null,
    record.notes ? h('p', {}, record.notes) : null,
    record.followUpDate ? h('p', {}, `Follow-up on ${record.followUpDate}`) : null,
    record.prescriptions.map((p) => prescriptionBlock(p)),
  );
}

export function prescriptionBlock(p: Prescription) {
  return h(
    'div',
    { class: 'prescription', 'data-testid': 'prescription' },
    h('strong', {}, 'Prescription'),
    h(
      'ul',
      {},
      p.items.map((item) => h('li', {}, itemText(item))),
    ),
    h('button', { type: 'button', onclick: () => void openPrescription(p.id) }, 'Print prescription'),
  );
}

/** Opens the printable prescription in a new tab. */
export async function openPrescription(id: string): Promise<void> {
  const tab = window.open('', '_blank');
  const res = await fetch(`/v1/prescriptions/${id}?format=pdf`, {
    headers: { authorization: `Bearer ${accessToken() ?? ''}` },
  });
  const url = URL.createObjectURL(await res.blob());
  if (tab) tab.location.href = url;
  else location.assign(url);
}
