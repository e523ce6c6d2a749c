// Who may see and write care records, and when a visit record may be written: plain functions over plain data.
import type { Role } from '../accounts/accounts.table.js';
import type { AppointmentStatus } from '../appointments/appointments.table.js';

/** How long after a completed visit its doctor may still edit the visit record. */
export const RECORD_EDIT_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The stages from which a visit record may be written: checked in, with the doctor, done. */
const WRITABLE: readonly AppointmentStatus[] = ['checked_in', 'called', 'completed'];

export interface Viewer {
  id: string;
  role: Role;
  doctorId: string | null;
}

/**
 * 'owner': the account holding the profile (a guardian for a dependent); 'doctor': a doctor who has seen the
 * patient (a completed visit) or has a visit with them today; 'break_glass': a clinician opening it with a
 * reason (never returned here); null: anyone else.
 */
export type ProfileAccess = 'owner' | 'doctor' | 'break_glass' | null;

export function profileAccess(
  viewer: Viewer,
  profile: { accountId: string },
  relation: { seen: boolean; today: boolean } | null,
): ProfileAccess {
  if (viewer.id === profile.accountId) return 'owner';
  if (viewer.role === 'doctor' && relation && (relation.seen || relation.today)) return 'doctor';
  return null;
}

/** Why this doctor may not write this appointment's visit record now, or null when they may. */
export function recordWriteRefusal(
  viewer: Viewer,
  visit: { doctorId: string; status: AppointmentStatus; completedAt: Date | null },
  now: Date,
): { code: 'FORBIDDEN' | 'CONFLICT'; message: string } | null {
  if (viewer.role !== 'doctor' || viewer.doctorId !== visit.doctorId) {
    return { code: 'FORBIDDEN', message: 'Only the doctor of this visit writes its record' };
  }
  if (!WRITABLE.includes(visit.status)) {
    return { code: 'CONFLICT', message: `The visit record opens at check-in (the visit is ${visit.status})` };
  }
  if (visit.status === 'completed' && visit.completedAt) {
    if (now.getTime() - visit.completedAt.getTime() > RECORD_EDIT_DAYS * DAY_MS) {
      return {
        code: 'CONFLICT',
        message: `The visit record closed ${RECORD_EDIT_DAYS} days after the visit`,
      };
    }
  }
  return null;
}

/** Roles that may open a record they otherwise may not see, with a reason, for the patient to see later. */
export const BREAK_GLASS_ROLES: readonly Role[] = ['doctor', 'staff', 'admin'];
