import { Type } from '@sinclair/typebox';
import { DateOfBirth, PersonName } from '../../lib/people.js';
import { Email, Nullable, Password, PhoneInput, Uuid } from '../../lib/schema.js';
import { RELATIONS } from './accounts.table.js';

const RoleSchema = Type.Union([
  Type.Literal('patient'),
  Type.Literal('doctor'),
  Type.Literal('staff'),
  Type.Literal('admin'),
]);
const Sex = Type.Union([Type.Literal('female'), Type.Literal('male'), Type.Literal('other')]);

export const UserSchema = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    name: Type.String(),
    phone: Nullable(Type.String()),
    role: RoleSchema,
    doctorId: Type.Optional(Nullable(Uuid)),
    hospitalId: Type.Optional(Nullable(Uuid)),
    profileId: Type.Optional(Nullable(Uuid)),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const RegisterBodySchema = Type.Object(
  {
    email: Email,
    password: Password,
    name: PersonName,
    phone: Type.Optional(PhoneInput),
    role: Type.Union([Type.Literal('patient'), Type.Literal('doctor')], { default: 'patient' }),
    licenseNo: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const LoginBodySchema = Type.Object(
  { email: Email, password: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const RefreshBodySchema = Type.Object(
  { refreshToken: Type.String({ minLength: 10, maxLength: 200 }) },
  { additionalProperties: false },
);

export const PasswordResetRequestSchema = Type.Union(
  [
    Type.Object({ email: Email }, { additionalProperties: false }),
    Type.Object({ phone: PhoneInput }, { additionalProperties: false }),
  ],
  { description: 'The e-mail (a link is sent) or the phone number (a 6-digit code is sent) of the account' },
);

export const PasswordResetConfirmSchema = Type.Union([
  Type.Object(
    { token: Type.String({ minLength: 20, maxLength: 200 }), newPassword: Password },
    { additionalProperties: false },
  ),
  Type.Object(
    { phone: PhoneInput, code: Type.String({ pattern: '^[0-9]{6}$' }), newPassword: Password },
    { additionalProperties: false },
  ),
]);

export const PasswordResetAcceptedSchema = Type.Object({ message: Type.String() });

export const TokensSchema = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer({ description: 'seconds until the access token expires' }),
  user: UserSchema,
});

export const MeUpdateSchema = Type.Object(
  {
    name: Type.Optional(PersonName),
    phone: Type.Optional(Nullable(PhoneInput)),
    password: Type.Optional(Password),
    currentPassword: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const DependentSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  relation: Type.String(),
  dateOfBirth: Nullable(Type.String()),
  sex: Nullable(Sex),
  phone: Nullable(Type.String()),
});

export const DependentBodySchema = Type.Object(
  {
    name: PersonName,
    relation: Type.Union(RELATIONS.filter((r) => r !== 'self').map((r) => Type.Literal(r))),
    dateOfBirth: Type.Optional(Nullable(DateOfBirth)),
    sex: Type.Optional(Nullable(Sex)),
    phone: Type.Optional(Nullable(PhoneInput)),
  },
  { additionalProperties: false },
);

export const DependentUpdateSchema = Type.Partial(DependentBodySchema, {
  additionalProperties: false,
  minProperties: 1,
});

export const AdminUserCreateSchema = Type.Object(
  {
    email: Email,
    password: Password,
    name: PersonName,
    phone: Type.Optional(PhoneInput),
    role: Type.Union([Type.Literal('staff'), Type.Literal('admin'), Type.Literal('doctor')]),
    hospitalId: Type.Optional(Uuid),
    licenseNo: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const AdminUserUpdateSchema = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    hospitalId: Type.Optional(Nullable(Uuid)),
    disabled: Type.Optional(Type.Boolean()),
    name: Type.Optional(PersonName),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const AdminUserQuerySchema = Type.Object(
  {
    role: Type.Optional(RoleSchema),
    q: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const AuditEntrySchema = Type.Object({
  id: Type.Integer(),
  actorId: Nullable(Uuid),
  action: Type.String(),
  targetType: Nullable(Type.String()),
  targetId: Nullable(Type.String()),
  details: Type.Unknown(),
  at: Type.String(),
});
