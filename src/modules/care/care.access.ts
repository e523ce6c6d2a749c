// The gate every care read and write passes: whose profile it is, how the viewer relates to it, and the
// audit entry for anyone but the owner. A patient asking about another's profile learns nothing (404);
// clinicians are told 403, since they may open a record by break-glass.
import type { Clock } from '../../clock.js';
import type { DB, Executor } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import type { AccountAdmin } from '../accounts/accounts.admin.service.js';
import type { AppointmentReads } from '../appointments/appointments.reads.js';
import * as repo from './care.repository.js';
import { BREAK_GLASS_ROLES, type ProfileAccess, profileAccess, type Viewer } from './care.rules.js';

/** Audit actions of the care records; the access list shows them to the patient. */
export const CARE_AUDIT_PREFIX = 'care.';
export const PROFILE_TARGET = 'patient_profile';

export interface CareAccessDeps {
  db: DB;
  clock: Clock;
  /** The accounts module's audit log (it owns audit_log). */
  audit: Pick<AccountAdmin, 'audit' | 'auditAbout'>;
  appointments: Pick<AppointmentReads, 'careFacts' | 'doctorRelation'>;
}

export interface Gate {
  profile: { id: string; accountId: string; name: string };
  access: ProfileAccess;
}

export class CareAccess {
  constructor(private readonly deps: CareAccessDeps) {}

  /** The profile and the viewer's access to it (null: none); 404 when there is no such profile. */
  async gate(viewer: Viewer, profileId: string): Promise<Gate> {
    const profile = await repo.findProfile(this.deps.db, profileId);
    if (!profile) throw notFound('Patient profile');
    const relation =
      viewer.role === 'doctor' && viewer.doctorId && viewer.id !== profile.accountId
        ? await this.deps.appointments.doctorRelation(viewer.doctorId, profileId, this.deps.clock.now())
        : null;
    return { profile, access: profileAccess(viewer, profile, relation) };
  }

  /** As gate, refusing a viewer without access. */
  async require(viewer: Viewer, profileId: string): Promise<Gate> {
    const gate = await this.gate(viewer, profileId);
    if (!gate.access) throw refusal(viewer);
    return gate;
  }

  /** Writes the audit entry for a read or write by anyone but the profile's owner. */
  async note(
    viewer: Viewer,
    gate: Gate,
    action: string,
    details: { recordId?: string; attachmentId?: string; prescriptionId?: string; reason?: string } = {},
    db: Executor = this.deps.db,
  ): Promise<void> {
    if (gate.access === 'owner') return;
    await this.deps.audit.audit(db, {
      actorId: viewer.id,
      action: `${CARE_AUDIT_PREFIX}${action}`,
      targetType: PROFILE_TARGET,
      targetId: gate.profile.id,
      details,
    });
  }

  /** Who read or wrote the care records of the viewer's own profile and dependents, newest first. */
  async trail(viewer: Viewer, page: { limit?: number; cursor?: string }) {
    const profiles = await repo.profilesOfAccount(this.deps.db, viewer.id);
    const entries = await this.deps.audit.auditAbout(
      { targetType: PROFILE_TARGET, targetIds: profiles.map((p) => p.id), actionPrefix: CARE_AUDIT_PREFIX },
      page,
    );
    return {
      items: entries.items.map((e) => {
        const details = (e.details ?? {}) as { recordId?: string; reason?: string };
        return {
          id: e.id,
          at: new Date(e.at).toISOString(),
          action: e.action.slice(CARE_AUDIT_PREFIX.length),
          profileId: e.targetId ?? '',
          recordId: details.recordId ?? null,
          actor: { id: e.actorId, name: e.actorName, role: e.actorRole },
          reason: details.reason ?? null,
        };
      }),
      nextCursor: entries.nextCursor,
    };
  }

  /** Opens a profile to a clinician without access, for one read; the reason is kept for the patient. */
  async breakGlass(viewer: Viewer, profileId: string): Promise<Gate> {
    if (!BREAK_GLASS_ROLES.includes(viewer.role)) throw refusal(viewer);
    const gate = await this.gate(viewer, profileId);
    return { ...gate, access: gate.access ?? 'break_glass' };
  }
}

function refusal(viewer: Viewer): AppError {
  if (viewer.role === 'patient') return notFound('Patient profile');
  return new AppError('FORBIDDEN', 'You have no access to this patient’s records', {
    breakGlass: BREAK_GLASS_ROLES.includes(viewer.role),
  });
}
