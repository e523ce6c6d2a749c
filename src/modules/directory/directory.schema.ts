import { Type } from '@sinclair/typebox';
import { ClockTime, Instant, Nullable, PageQuery, PhoneInput, Uuid } from '../../lib/schema.js';
import { SERVICE_KINDS } from './directory.table.js';

const Name = Type.String({ minLength: 1, maxLength: 200 });

// Hospitals ------------------------------------------------------------------------------------------------

export const HospitalSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  city: Type.String(),
  address: Type.String(),
  phone: Nullable(Type.String()),
  timezone: Type.String({ description: 'IANA time zone, e.g. Asia/Dhaka' }),
  quietStart: ClockTime,
  quietEnd: ClockTime,
  currency: Type.String({ description: 'ISO 4217 code of the currency it bills in, e.g. BDT' }),
  code: Type.String({ description: 'Short code that prefixes its invoice numbers, e.g. DMC' }),
});

export const HospitalDoctorSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  photoUrl: Nullable(Type.String()),
  specializations: Type.Array(Type.String()),
});

export const HospitalDetailSchema = Type.Composite([
  HospitalSchema,
  Type.Object({ doctors: Type.Array(HospitalDoctorSchema) }),
]);

export const HospitalQuerySchema = Type.Object(
  {
    city: Type.Optional(Type.String({ maxLength: 100 })),
    q: Type.Optional(Type.String({ maxLength: 200 })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const HospitalBodySchema = Type.Object(
  {
    name: Name,
    city: Type.String({ minLength: 1, maxLength: 100 }),
    address: Type.Optional(Type.String({ maxLength: 500 })),
    phone: Type.Optional(Nullable(PhoneInput)),
    timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone, e.g. Asia/Dhaka' }),
    quietStart: Type.Optional(ClockTime),
    quietEnd: Type.Optional(ClockTime),
    currency: Type.Optional(
      Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. BDT (the default)' }),
    ),
    code: Type.Optional(
      Type.String({
        pattern: '^[A-Z0-9]{1,12}$',
        description:
          'Prefix of its invoice numbers (capital letters and digits, unique); derived from the name when left out',
      }),
    ),
  },
  { additionalProperties: false },
);

export const HospitalUpdateSchema = Type.Partial(HospitalBodySchema, {
  additionalProperties: false,
  minProperties: 1,
});

// Catalogs -------------------------------------------------------------------------------------------------

export const CatalogItemSchema = Type.Object({ id: Uuid, name: Type.String() });
export const ServiceSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  kind: Type.Union(SERVICE_KINDS.map((k) => Type.Literal(k))),
  durationMinutes: Type.Integer(),
  fee: Type.Number(),
});
export const CatalogBodySchema = Type.Object({ name: Name }, { additionalProperties: false });
export const ServiceBodySchema = Type.Object(
  {
    name: Name,
    kind: Type.Optional(Type.Union(SERVICE_KINDS.map((k) => Type.Literal(k)))),
    durationMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })),
    fee: Type.Optional(Type.Number({ minimum: 0, maximum: 99_999_999 })),
  },
  { additionalProperties: false },
);
export const ServiceUpdateSchema = Type.Partial(ServiceBodySchema, {
  additionalProperties: false,
  minProperties: 1,
});
export const CatalogQuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

// Doctors --------------------------------------------------------------------------------------------------

export const SORTS = ['relevance', 'popular', 'rating', 'name', 'soonest'] as const;
export type DoctorSort = (typeof SORTS)[number];

export const DoctorQuerySchema = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 100, description: 'Name (typo-tolerant) or licence number' })),
    city: Type.Optional(Type.String({ maxLength: 100 })),
    specialization: Type.Optional(Type.String({ maxLength: 200, description: 'Id or name' })),
    qualification: Type.Optional(Type.String({ maxLength: 200, description: 'Id or name, e.g. FCPS' })),
    hospitalId: Type.Optional(Uuid),
    serviceId: Type.Optional(Uuid),
    availableOn: Type.Optional(
      Type.String({
        pattern: '^([1-7]|[0-9]{4}-[0-9]{2}-[0-9]{2})$',
        description: 'A date (YYYY-MM-DD) or an ISO weekday 1-7: has a session then',
      }),
    ),
    sort: Type.Optional(
      Type.Union(
        SORTS.map((s) => Type.Literal(s)),
        {
          description:
            'Default: relevance when q is given, else name. popular: completed visits in the last 90 days, then ' +
            'rating; rating: best average first, unrated last; soonest: earliest day a patient could book now ' +
            '(booking window, cut-off, free places), doctors with none in 30 days last',
        },
      ),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const DoctorListItemSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  photoUrl: Nullable(Type.String()),
  experienceYears: Nullable(Type.Integer()),
  rating: Nullable(Type.Number()),
  ratingCount: Type.Integer(),
  visitCount: Type.Integer(),
  specializations: Type.Array(Type.String()),
  cities: Type.Array(Type.String()),
  soonestDate: Type.Optional(
    Nullable(
      Type.String({
        description:
          'With sort=soonest: the earliest local date bookable now, null when none in 30 days (refreshed as ' +
          'bookings and schedules change, and every minute)',
      }),
    ),
  ),
  recentVisits: Type.Optional(
    Type.Integer({
      description: 'With sort=popular: completed visits in the last 90 days (recounted periodically)',
    }),
  ),
});

export const QualificationEntrySchema = Type.Object({
  qualificationId: Uuid,
  name: Type.String(),
  institute: Type.String(),
  year: Nullable(Type.Integer()),
});

export const DoctorProfileSchema = Type.Object({
  id: Uuid,
  name: Type.String(),
  licenseNo: Nullable(Type.String()),
  bio: Type.String(),
  experienceYears: Nullable(Type.Integer()),
  photoUrl: Nullable(Type.String()),
  verified: Type.Boolean(),
  rating: Nullable(Type.Number({ description: 'Average of visible reviews' })),
  ratingCount: Type.Integer(),
  visitCount: Type.Integer(),
  specializations: Type.Array(CatalogItemSchema),
  qualifications: Type.Array(QualificationEntrySchema),
  services: Type.Array(ServiceSchema),
  hospitals: Type.Array(
    Type.Object({ id: Uuid, name: Type.String(), city: Type.String(), timezone: Type.String() }),
  ),
});

export const DoctorUpdateSchema = Type.Object(
  {
    name: Type.Optional(Name),
    bio: Type.Optional(Type.String({ maxLength: 5000 })),
    experienceYears: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 80 }))),
    licenseNo: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
    specializationIds: Type.Optional(Type.Array(Uuid, { maxItems: 20, uniqueItems: true })),
    qualifications: Type.Optional(
      Type.Array(
        Type.Object(
          {
            qualificationId: Uuid,
            institute: Type.Optional(Type.String({ maxLength: 200 })),
            year: Type.Optional(Nullable(Type.Integer({ minimum: 1900, maximum: 2200 }))),
          },
          { additionalProperties: false },
        ),
        { maxItems: 20 },
      ),
    ),
    serviceIds: Type.Optional(Type.Array(Uuid, { maxItems: 50, uniqueItems: true })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const VerifyBodySchema = Type.Object(
  { verified: Type.Boolean({ default: true }) },
  { additionalProperties: false },
);

// Favorites ------------------------------------------------------------------------------------------------

export const DoctorIdParams = Type.Object({ doctorId: Uuid });
export const FavoriteSchema = Type.Composite([
  Type.Omit(DoctorListItemSchema, ['soonestDate', 'recentVisits']),
  Type.Object({ favoritedAt: Instant }),
]);
export const FavoritesQuerySchema = Type.Object({ ...PageQuery }, { additionalProperties: false });

// Reviews --------------------------------------------------------------------------------------------------

export const ReviewBodySchema = Type.Object(
  {
    rating: Type.Integer({ minimum: 1, maximum: 5 }),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const ReviewSchema = Type.Object({
  id: Uuid,
  doctorId: Uuid,
  appointmentId: Type.Optional(Uuid),
  rating: Type.Integer(),
  comment: Type.String(),
  reviewer: Type.String({ description: 'First name and initial, e.g. "Karim H."' }),
  hidden: Type.Boolean(),
  createdAt: Instant,
});

export const ReviewQuerySchema = Type.Object(
  {
    includeHidden: Type.Optional(Type.Boolean({ description: 'The doctor themself or an admin only' })),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const ReviewUpdateSchema = Type.Object({ hidden: Type.Boolean() }, { additionalProperties: false });

export const PhotoParams = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9-]{8,80}\\.(jpg|png|webp|svg)$' }),
});
