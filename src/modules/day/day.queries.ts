// The day ledger's SQL pieces for other modules' reads (the booking outline reads a session's booking rules
// with the same columns the ledger locks them with). Fragments and row mapping only: nothing here runs a query.
import { sql } from 'kysely';

export const SESSION_RULE_COLUMNS = sql`
  s.id, s.doctor_id, s.hospital_id, s.weekday, s.start_time, s.end_time, s.slot_minutes, s.capacity, s.fee,
  s.room, s.valid_from, s.valid_to, s.booking_opens_days, s.booking_closes_minutes, s.confirmed_at,
  d.verified_at as doctor_verified_at,
  h.timezone, h.name as hospital_name, h.city as hospital_city, h.address as hospital_address,
  d.name as doctor_name`;

export interface BookingSession {
  id: string;
  doctorId: string;
  hospitalId: string;
  weekday: number;
  startTime: string;
  endTime: string;
  slotMinutes: number;
  capacity: number;
  fee: string;
  room: string | null;
  validFrom: string | null;
  validTo: string | null;
  bookingOpensDays: number;
  bookingClosesMinutes: number;
  confirmedAt: Date | null;
  doctorVerifiedAt: Date | null;
  timezone: string;
  hospitalName: string;
  hospitalCity: string;
  hospitalAddress: string;
  doctorName: string;
}

export function pickSession(r: Partial<BookingSession>): BookingSession {
  return {
    id: r.id as string,
    doctorId: r.doctorId as string,
    hospitalId: r.hospitalId as string,
    weekday: Number(r.weekday),
    startTime: r.startTime as string,
    endTime: r.endTime as string,
    slotMinutes: Number(r.slotMinutes),
    capacity: Number(r.capacity),
    fee: String(r.fee),
    room: r.room ?? null,
    validFrom: r.validFrom ?? null,
    validTo: r.validTo ?? null,
    bookingOpensDays: Number(r.bookingOpensDays),
    bookingClosesMinutes: Number(r.bookingClosesMinutes),
    confirmedAt: r.confirmedAt ?? null,
    doctorVerifiedAt: r.doctorVerifiedAt ?? null,
    timezone: r.timezone as string,
    hospitalName: r.hospitalName as string,
    hospitalCity: r.hospitalCity as string,
    hospitalAddress: r.hospitalAddress ?? '',
    doctorName: r.doctorName as string,
  };
}
