// TypeBox request and response schemas of the care records: history, visit records, access trail,
// prescriptions and attachments.
import { type Static, Type } from '@sinclair/typebox';
import { Instant, LocalDate, Nullable, PageQuery, Uuid } from '../../lib/schema.js';

const Text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, description });
const List = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 50, description });

export const BLOOD_GROUPS = ['A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-'] as const;
const BloodGroup = Type.Union(
  BLOOD_GROUPS.map((g) => Type.Literal(g)),
  { description: 'ABO group and Rh factor' },
);

export const ProfileParams = Type.Object({ profileId: Uuid });

// Medical history ------------------------------------------------------------------------------------------

const HistoryFields = {
  allergies: List('Known allergies (drugs, food, other)'),
  chronicConditions: List('Long-standing conditions (diabetes, asthma, ...)'),
  currentMedications: List('What the patient takes now, with strength if known'),
  bloodGroup: Nullable(BloodGroup),
  notes: Nullable(Text(4000, 'Anything else a doctor should know')),
};

export const HistorySchema = Type.Object(
  {
    profileId: Uuid,
    ...HistoryFields,
    updatedAt: Nullable(Instant),
  },
  { description: 'A patient profile’s medical history (empty lists until first written)' },
);

export const HistoryUpdateSchema = Type.Partial(Type.Object(HistoryFields, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
  description: 'The fields to replace; those left out keep their value',
});

export type HistoryBody = Omit<Static<typeof HistorySchema>, 'profileId' | 'updatedAt'>;

// Visit records --------------------------------------------------------------------------------------------

const VitalsSchema = Type.Object(
  {
    bpSystolic: Type.Optional(Nullable(Type.Integer({ minimum: 50, maximum: 260, description: 'mmHg' }))),
    bpDiastolic: Type.Optional(Nullable(Type.Integer({ minimum: 30, maximum: 160, description: 'mmHg' }))),
    pulse: Type.Optional(
      Nullable(Type.Integer({ minimum: 20, maximum: 250, description: 'beats per minute' })),
    ),
    temperature: Type.Optional(Nullable(Type.Number({ minimum: 30, maximum: 45, description: '°C' }))),
    weight: Type.Optional(Nullable(Type.Number({ minimum: 0.3, maximum: 400, description: 'kg' }))),
  },
  { additionalProperties: false, description: 'Vitals taken at the visit; each may be left out' },
);
export type Vitals = Static<typeof VitalsSchema>;

/** ICD-10: a letter, two digits (or digit and A/B), optionally a dot and up to 4 more characters (A09, E11.65). */
export const ICD10_PATTERN = '^[A-TV-Z][0-9][0-9AB](\\.[0-9A-TV-Z]{1,4})?$';

const RecordFields = {
  complaint: Nullable(Text(2000, 'What the patient came with, in their words')),
  findings: Nullable(Text(4000, 'Examination findings')),
  diagnosis: Nullable(Text(1000, 'Diagnosis as free text')),
  icd10: Nullable(Type.String({ pattern: ICD10_PATTERN, description: 'Optional ICD-10 code, e.g. E11.9' })),
  notes: Nullable(Text(4000, 'Doctor’s notes and advice')),
  vitals: VitalsSchema,
  followUpDate: Nullable({ ...LocalDate, description: 'When to come back (not before the visit)' }),
};

export type RecordBody = {
  [K in keyof typeof RecordFields]: Static<(typeof RecordFields)[K]>;
};

export const RecordCreateSchema = Type.Object(
  {
    appointmentId: { ...Uuid, description: 'The visit this record is of (one record per visit)' },
    ...Type.Partial(Type.Object(RecordFields)).properties,
  },
  { additionalProperties: false },
);

export const RecordUpdateSchema = Type.Partial(Type.Object(RecordFields), {
  additionalProperties: false,
  minProperties: 1,
  description: 'The fields to replace (null clears one); the earlier version is kept',
});

export const AttachmentSchema = Type.Object({
  id: Uuid,
  recordId: Uuid,
  fileName: Type.String(),
  contentType: Type.String({
    description: 'application/pdf, image/jpeg or image/png, sniffed from the bytes',
  }),
  size: Type.Integer({ description: 'bytes' }),
  createdAt: Instant,
});

const PrescriptionItemSchema = Type.Object(
  {
    drug: Text(200, 'Drug name (generic or brand)'),
    strength: Type.Optional(Nullable(Text(100, 'e.g. 500 mg'))),
    dose: Text(100, 'e.g. 1 tablet'),
    frequency: Text(100, 'e.g. three times a day'),
    duration: Text(100, 'e.g. 5 days'),
    instructions: Type.Optional(Nullable(Text(500, 'e.g. after meals'))),
  },
  { additionalProperties: false },
);
export type PrescriptionItem = Static<typeof PrescriptionItemSchema>;

export const PrescriptionCreateSchema = Type.Object(
  { items: Type.Array(PrescriptionItemSchema, { minItems: 1, maxItems: 30 }) },
  { additionalProperties: false },
);

export const PrescriptionSchema = Type.Object({
  id: Uuid,
  recordId: Uuid,
  profileId: Uuid,
  doctorId: Uuid,
  issuedAt: Instant,
  items: Type.Array(PrescriptionItemSchema),
  verifyUrl: Type.String({ description: 'The public check printed as a QR code on the prescription' }),
});

export const RecordSchema = Type.Object({
  id: Uuid,
  appointmentId: Uuid,
  profileId: Uuid,
  doctorId: Uuid,
  version: Type.Integer({ description: 'Starts at 1; each edit keeps the earlier version and adds one' }),
  ...RecordFields,
  createdAt: Instant,
  updatedAt: Instant,
  attachments: Type.Array(AttachmentSchema),
  prescriptions: Type.Array(PrescriptionSchema),
});

export const RecordVersionSchema = Type.Object({
  version: Type.Integer(),
  writtenAt: { ...Instant, description: 'When this version was written' },
  ...RecordFields,
});

export const RecordListQuerySchema = Type.Object(PageQuery, { additionalProperties: false });

export const BreakGlassBodySchema = Type.Object(
  {
    reason: Type.String({
      minLength: 10,
      maxLength: 500,
      description: 'Why the record must be opened; shown to the patient in their record-access list',
    }),
  },
  { additionalProperties: false },
);

// Access trail and verification ----------------------------------------------------------------------------

export const RecordAccessSchema = Type.Object({
  id: Type.Integer(),
  at: Instant,
  action: Type.String({
    description: 'history.read, history.write, record.read, record.write, attachment.read, break_glass, ...',
  }),
  profileId: Uuid,
  recordId: Nullable(Uuid),
  actor: Type.Object({ id: Nullable(Uuid), name: Nullable(Type.String()), role: Nullable(Type.String()) }),
  reason: Nullable(Type.String({ description: 'The reason given for a break-glass read' })),
});

export const VerifyQuerySchema = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 100, description: 'The code from the QR' }) },
  { additionalProperties: false },
);

export const VerifySchema = Type.Object(
  {
    valid: Type.Boolean(),
    issuedOn: Nullable({ ...LocalDate, description: 'The day a valid prescription was issued' }),
  },
  { description: 'Validity only: never what was prescribed or for whom' },
);
