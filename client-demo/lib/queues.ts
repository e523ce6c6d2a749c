// Finding today's queues: each hospital has its own time zone, so "today" is asked per hospital.
import { api, type PageOf, qs } from './api.js';
import { localDate } from './dom.js';

export interface Hospital {
  id: string;
  name: string;
  city: string;
  address?: string;
  timezone: string;
  phone?: string | null;
}

/** A row of GET /v1/queues; the fields beyond the id are read defensively. */
export interface QueueSummary {
  id?: string;
  queueId?: string;
  date: string;
  status: string;
  doctorId?: string;
  hospitalId?: string;
  doctorName?: string;
  doctor?: { id: string; name: string } | null;
  hospital?: { id: string; name: string; timezone?: string } | null;
  room?: string | null;
  startsAt?: string;
  endsAt?: string;
  nowServing?: number | null;
  waiting?: number;
  version?: number;
  [extra: string]: unknown;
}

export const queueIdOf = (q: QueueSummary): string => String(q.queueId ?? q.id);
export const doctorNameOf = (q: QueueSummary): string => q.doctor?.name ?? q.doctorName ?? 'Doctor';

const hospitalCache = new Map<string, Promise<Hospital>>();

export function hospital(id: string): Promise<Hospital> {
  let found = hospitalCache.get(id);
  if (!found) {
    found = api.get<Hospital>(`/hospitals/${id}`);
    hospitalCache.set(id, found);
    found.catch(() => hospitalCache.delete(id));
  }
  return found;
}

export async function hospitals(): Promise<Hospital[]> {
  const page = await api.get<PageOf<Hospital>>('/hospitals?limit=100');
  for (const h of page.items) hospitalCache.set(h.id, Promise.resolve(h));
  return page.items;
}

/** Today's queues of one hospital, in that hospital's zone. */
export async function hospitalQueuesToday(
  hospitalId: string,
): Promise<{ hospital: Hospital; queues: QueueSummary[] }> {
  const h = await hospital(hospitalId);
  const date = localDate(h.timezone);
  const page = await api.get<PageOf<QueueSummary>>(`/queues${qs({ date, hospitalId, limit: 100 })}`);
  return { hospital: h, queues: page.items };
}

/** Today's queues of one doctor across the hospitals they sit in. */
export async function doctorQueuesToday(doctorId: string): Promise<QueueSummary[]> {
  const all = await hospitals().catch(() => [] as Hospital[]);
  const zones = new Map(all.map((h) => [h.id, h.timezone]));
  const dates = new Set([localDate(), ...all.map((h) => localDate(h.timezone))]);
  const found = new Map<string, QueueSummary>();
  for (const date of dates) {
    const page = await api.get<PageOf<QueueSummary>>(`/queues${qs({ date, doctorId, limit: 100 })}`);
    for (const q of page.items) {
      const zone = q.hospital?.timezone ?? (q.hospitalId ? zones.get(q.hospitalId) : undefined);
      if (!zone || localDate(zone) === q.date) found.set(queueIdOf(q), q);
    }
  }
  return [...found.values()];
}
