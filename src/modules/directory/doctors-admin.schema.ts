// Admin doctor list: every doctor, unverified ones included, with what an admin checks before verifying.
import { Type } from '@sinclair/typebox';
import { Instant, Nullable, PageQuery, Uuid } from '../../lib/schema.js';
import { CatalogItemSchema, QualificationEntrySchema } from './directory.schema.js';

export const AdminDoctorQuerySchema = Type.Object(
  {
    verified: Type.Optional(
      Type.Boolean({ description: 'false: waiting for verification; true: verified; omitted: all' }),
    ),
    q: Type.Optional(
      Type.String({ maxLength: 100, description: 'Part of the name, e-mail or licence number' }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const AdminDoctorSchema = Type.Object({
  id: Uuid,
  userId: Uuid,
  name: Type.String(),
  email: Type.String(),
  phone: Nullable(Type.String()),
  licenseNo: Nullable(Type.String()),
  experienceYears: Nullable(Type.Integer()),
  photoUrl: Nullable(Type.String()),
  specializations: Type.Array(CatalogItemSchema),
  qualifications: Type.Array(QualificationEntrySchema),
  createdAt: Instant,
  verifiedAt: Nullable(Instant),
});
