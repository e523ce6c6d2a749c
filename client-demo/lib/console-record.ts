// The doctor console's Record tab: the called patient's medical history, this visit's record (vitals,
// diagnosis, notes, follow-up), a prescription, and their past visits.
import { api, type PageOf } from './api.js';
import {
  type History,
  type PrescriptionItem,
  prescriptionBlock,
  recordCard,
  type VisitRecord,
} from './care.js';
import { h, render, toast } from './dom.js';
import { errorText } from './errors.js';
import { field } from './widgets.js';

interface Appointment {
  id: string;
  profileId: string | null;
  patientName: string | null;
  date: string;
}

const TEXT_FIELDS: [keyof VisitRecord, string][] = [
  ['complaint', 'Complaint'],
  ['findings', 'Findings'],
  ['diagnosis', 'Diagnosis'],
  ['notes', 'Notes and advice'],
];
const VITALS: [string, string, string][] = [
  ['bpSystolic', 'BP systolic (mmHg)', '1'],
  ['bpDiastolic', 'BP diastolic (mmHg)', '1'],
  ['pulse', 'Pulse (/min)', '1'],
  ['temperature', 'Temperature (°C)', '0.1'],
  ['weight', 'Weight (kg)', '0.1'],
];
const ITEM_FIELDS: [keyof PrescriptionItem, string, boolean][] = [
  ['drug', 'Drug', true],
  ['strength', 'Strength', false],
  ['dose', 'Dose', true],
  ['frequency', 'Frequency', true],
  ['duration', 'Duration', true],
  ['instructions', 'Instructions', false],
];

export function recordPanel(currentAppointment: () => string | null) {
  const panel = h('div', { 'data-testid': 'record-panel', hidden: true });

  async function open() {
    const appointmentId = currentAppointment();
    if (!appointmentId) {
      render(panel, h('p', { class: 'notice' }, 'Call a patient to write their visit record.'));
      return;
    }
    try {
      const appointment = await api.get<Appointment>(`/appointments/${appointmentId}`);
      const profileId = appointment.profileId;
      if (!profileId) {
        render(panel, h('p', { class: 'notice' }, 'This walk-in has no patient profile to keep records on.'));
        return;
      }
      const [history, records] = await Promise.all([
        api.get<History>(`/patients/${profileId}/history`),
        api.get<PageOf<VisitRecord>>(`/patients/${profileId}/records?limit=20`),
      ]);
      const current = records.items.find((r) => r.appointmentId === appointmentId);
      render(
        panel,
        h('h2', {}, appointment.patientName ?? 'Patient'),
        historyCard(history),
        recordForm(appointment, profileId, current),
        current ? prescriptionForm(current) : null,
        h('h3', {}, 'Past visits'),
        records.items.filter((r) => r !== current).map(recordCard),
      );
    } catch (err) {
      render(panel, h('p', { class: 'notice error' }, errorText(err)));
    }
  }

  function historyCard(history: History) {
    const line = (label: string, items: string[]) =>
      h('p', {}, h('strong', {}, `${label}: `), items.length ? items.join(', ') : 'none recorded');
    return h(
      'section',
      { class: 'card', 'aria-label': 'Medical history' },
      line('Allergies', history.allergies),
      line('Conditions', history.chronicConditions),
      line('Medications', history.currentMedications),
      h('p', {}, h('strong', {}, 'Blood group: '), history.bloodGroup ?? 'unknown'),
    );
  }

  function recordForm(appointment: Appointment, profileId: string, current: VisitRecord | undefined) {
    const form = h('form', { class: 'card', 'aria-label': 'Visit record' });
    const text = TEXT_FIELDS.map(([name, label]) => {
      const area = h('textarea', { name, rows: 2 });
      area.value = (current?.[name] as string | null) ?? '';
      return field(name, label, area);
    });
    const icd = h('input', { name: 'icd10', placeholder: 'e.g. J45.9' });
    icd.value = current?.icd10 ?? '';
    const vitals = VITALS.map(([name, label, step]) => {
      const input = h('input', { name, type: 'number', step, inputmode: 'decimal' });
      const value = current?.vitals[name as keyof VisitRecord['vitals']];
      input.value = value == null ? '' : String(value);
      return field(name, label, input);
    });
    const followUp = h('input', { name: 'followUpDate', type: 'date', min: appointment.date });
    followUp.value = current?.followUpDate ?? '';
    form.append(
      h(
        'h3',
        { style: 'margin-top:0' },
        current ? `Visit record (version ${current.version})` : 'New visit record',
      ),
      ...text,
      field('icd10', 'ICD-10 code', icd),
      h('div', { class: 'row' }, vitals),
      field('followUpDate', 'Follow-up date', followUp),
      h('button', { type: 'submit', class: 'primary' }, current ? 'Save changes' : 'Save record'),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const value = (name: string) => String(data.get(name) ?? '').trim() || null;
      const body: Record<string, unknown> = {
        vitals: Object.fromEntries(
          VITALS.map(([name]) => [name, value(name) === null ? null : Number(value(name))]),
        ),
        icd10: value('icd10')?.toUpperCase() ?? null,
        followUpDate: value('followUpDate'),
      };
      for (const [name] of TEXT_FIELDS) body[name] = value(name);
      try {
        if (current) await api.patch(`/records/${current.id}`, body);
        else await api.post(`/patients/${profileId}/records`, { appointmentId: appointment.id, ...body });
        toast('Visit record saved');
        await open();
      } catch (err) {
        toast(errorText(err), 'error');
      }
    });
    return form;
  }

  function prescriptionForm(record: VisitRecord) {
    const form = h('form', { class: 'card', 'aria-label': 'Prescription' });
    form.append(
      h('h3', { style: 'margin-top:0' }, 'Prescribe'),
      h(
        'div',
        { class: 'row' },
        ITEM_FIELDS.map(([name, label, required]) => field(name, label, h('input', { name, required }))),
      ),
      h('button', { type: 'submit' }, 'Issue prescription'),
      ...record.prescriptions.map(prescriptionBlock),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const item = Object.fromEntries(
        ITEM_FIELDS.map(([name]) => [name, String(data.get(name) ?? '').trim() || null]),
      );
      try {
        await api.post(`/records/${record.id}/prescriptions`, { items: [item] });
        toast('Prescription issued');
        await open();
      } catch (err) {
        toast(errorText(err), 'error');
      }
    });
    return form;
  }

  return { panel, open };
}
