// TypeBox schemas of the front desk's patient lookup and on-the-spot registration.
import { Type } from '@sinclair/typebox';
import { DateOfBirth, PersonName } from '../../lib/people.js';
import { Email, LocalDate, Nullable, PhoneInput, Uuid } from '../../lib/schema.js';
import { RELATIONS } from '../accounts/accounts.table.js';

export const PatientQuerySchema = Type.Object(
  {
    q: Type.String({
      minLength: 2,
      maxLength: 100,
      description:
        'A name (of the patient or of the account holder), an e-mail address, or a phone number in E.164 or national format',
    }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 400 })),
  },
  { additionalProperties: false },
);

export const PatientMatchSchema = Type.Object(
  {
    profileId: Uuid,
    name: Type.String({ description: 'The patient (profile) name' }),
    phone: Nullable(
      Type.String({ description: 'E.164, in full: the desk reads it back to confirm who it is talking to' }),
    ),
    dateOfBirth: Nullable(LocalDate),
    relation: Type.Union(
      RELATIONS.map((r) => Type.Literal(r)),
      {
        description: 'How the patient relates to the account holder (self for the holder)',
      },
    ),
    accountId: Uuid,
    accountName: Type.String(),
    accountEmail: Nullable(
      Type.String({ description: 'null for accounts the desk registered without an e-mail address' }),
    ),
  },
  { additionalProperties: false },
);

export const PatientCreateSchema = Type.Object(
  {
    name: PersonName,
    phone: Type.Optional(PhoneInput),
    email: Type.Optional(Email),
    dateOfBirth: Type.Optional(DateOfBirth),
    sex: Type.Optional(Type.Union([Type.Literal('female'), Type.Literal('male'), Type.Literal('other')])),
  },
  { additionalProperties: false },
);

export const PatientCreatedSchema = Type.Composite([Type.Object({ id: Uuid }), PatientMatchSchema], {
  additionalProperties: false,
});
