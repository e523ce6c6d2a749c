// The read side of appointments: one appointment as its viewer may see it, the role-scoped list, and a
// booking's answer read back after commit (idempotent replays, waitlist take-ups).
import type { Static } from '@sinclair/typebox';
import type { DB } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import type { Principal } from '../../plugins/auth.js';
import { toZonedIso } from '../schedule/schedule.time.js';
import * as repo from './appointments.repository.js';
import type { AppointmentListQuerySchema } from './appointments.schema.js';

type Detail = repo.AppointmentDetail;
export type AppointmentView = ReturnType<typeof toAppointmentView>;

export function toAppointmentView(a: Detail) {
  return {
    id: a.id,
    queueId: a.queueId,
    sessionId: a.sessionId,
    doctorId: a.doctorId,
    doctor: { id: a.doctorId, name: a.doctorName },
    hospital: { id: a.hospitalId, name: a.hospitalName, city: a.hospitalCity, timezone: a.timezone },
    room: a.room,
    profileId: a.profileId,
    patientName: a.profileName ?? a.walkInName,
    bookedBy: a.bookedBy,
    serviceId: a.serviceId,
    date: a.date,
    serial: a.serial,
    kind: a.kind,
    status: a.status,
    estimatedAt: toZonedIso(a.estimatedAt, a.timezone),
    fee: Number(a.fee),
    cancelReason: a.cancelReason,
    bookedAt: a.bookedAt.toISOString(),
    confirmedAt: a.confirmedAt ? a.confirmedAt.toISOString() : null,
    cancelledAt: a.cancelledAt ? a.cancelledAt.toISOString() : null,
  };
}

export class AppointmentReads {
  constructor(private readonly deps: { db: DB }) {}

  private get db() {
    return this.deps.db;
  }

  /** A booked appointment as answered, read after commit (idempotent replays). */
  async bookedView(placed: { appointmentId: string; trackingToken: string }) {
    const detail = await repo.findDetail(this.db, placed.appointmentId);
    if (!detail) throw notFound('Appointment');
    return { ...toAppointmentView(detail), trackingToken: placed.trackingToken };
  }

  /** The appointment if the principal may see it: owner, its doctor, staff of its hospital, admin. */
  async visible(principal: Principal, id: string): Promise<Detail> {
    const row = await repo.findDetail(this.db, id);
    if (!row || !canSee(principal, row)) throw notFound('Appointment');
    return row;
  }

  /** One appointment's patient, doctor, hospital and stage, for the care records; undefined when unknown. */
  careFacts(id: string) {
    return repo.findCareFacts(this.db, id);
  }

  /** Whether the doctor has seen the profile before (a completed visit) or has a visit with it today. */
  doctorRelation(doctorId: string, profileId: string, now: Date) {
    return repo.doctorRelation(this.db, { doctorId, profileId, now });
  }

  async get(principal: Principal, id: string) {
    return toAppointmentView(await this.visible(principal, id));
  }

  async list(principal: Principal, query: Static<typeof AppointmentListQuerySchema>) {
    const scope: repo.ListScope =
      principal.role === 'patient'
        ? { accountId: principal.id }
        : principal.role === 'doctor'
          ? { doctorId: principal.doctorId ?? '00000000-0000-0000-0000-000000000000' }
          : principal.role === 'staff'
            ? { hospitalId: principal.hospitalId ?? '00000000-0000-0000-0000-000000000000' }
            : {};
    const after = decodeCursor<[string, string]>(query.cursor, 2);
    if (query.cursor && !after) throw new AppError('VALIDATION_FAILED', 'cursor is invalid');
    const limit = query.limit ?? 20;
    const rows = await repo.listAppointments(this.db, scope, {
      date: query.date,
      from: query.from,
      to: query.to,
      status: query.status,
      doctorId: query.doctorId,
      hospitalId: query.hospitalId,
      profileId: query.profileId,
      order: query.order ?? 'asc',
      limit,
      after,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toAppointmentView),
      nextCursor:
        rows.length > limit && last ? encodeCursor([last.estimatedAt.toISOString(), last.id]) : null,
    };
  }
}

function canSee(principal: Principal, row: Detail): boolean {
  switch (principal.role) {
    case 'admin':
      return true;
    case 'doctor':
      return principal.doctorId === row.doctorId;
    case 'staff':
      return principal.hospitalId !== null && principal.hospitalId === row.hospitalId;
    case 'patient':
      return row.profileAccountId === principal.id || row.bookedBy === principal.id;
    default:
      return false;
  }
}
