import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type Timestamp = ColumnType<Date, Date | string, Date | string>;
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
export type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export const ROLES = ['patient', 'doctor', 'staff', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface UsersTable {
  id: Generated<string>;
  email: string;
  phone: string | null;
  passwordHash: string;
  role: Role;
  name: string;
  hospitalId: string | null;
  disabledAt: Timestamp | null;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
}

export interface RefreshTokensTable {
  id: Generated<string>;
  userId: string;
  familyId: string;
  tokenHash: string;
  expiresAt: Timestamp;
  usedAt: Timestamp | null;
  revokedAt: Timestamp | null;
  createdAt: CreatedAt;
}

export const RELATIONS = ['self', 'child', 'parent', 'spouse', 'sibling', 'other'] as const;
export type Relation = (typeof RELATIONS)[number];

export interface PatientProfilesTable {
  id: Generated<string>;
  accountId: string;
  isSelf: Generated<boolean>;
  name: string;
  relation: Generated<Relation>;
  dateOfBirth: string | null;
  sex: 'female' | 'male' | 'other' | null;
  phone: string | null;
  createdAt: CreatedAt;
  updatedAt: UpdatedAt;
  deletedAt: Timestamp | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: unknown;
  ip: string | null;
  at: CreatedAt;
}

export interface PasswordResetsTable {
  id: Generated<string>;
  userId: string;
  channel: 'email' | 'sms';
  /** SHA-256 of the e-mailed token, or an scrypt hash of the SMS code. */
  secretHash: string;
  attempts: Generated<number>;
  expiresAt: Timestamp;
  usedAt: Timestamp | null;
  createdAt: Timestamp;
}

export interface AccountsTables {
  users: UsersTable;
  refreshTokens: RefreshTokensTable;
  patientProfiles: PatientProfilesTable;
  auditLog: AuditLogTable;
  passwordResets: PasswordResetsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type PatientProfile = Selectable<PatientProfilesTable>;
