import { Type } from '@sinclair/typebox';
import { Instant, LocalDate, Nullable, PageQuery, Uuid } from '../../lib/schema.js';
import { INVOICE_STATUSES, PAYMENT_METHODS } from './billing.table.js';

const Method = Type.Union(
  PAYMENT_METHODS.map((m) => Type.Literal(m)),
  { description: 'cash, card or mobile_wallet' },
);
const Reference = Type.String({
  minLength: 1,
  maxLength: 200,
  description: "The card slip's or mobile wallet's transaction reference",
});
const Money = Type.Number({ description: "An amount in the invoice's currency" });

export const InvoiceSchema = Type.Object(
  {
    id: Uuid,
    number: Type.String({
      description: '<hospital code>-<year>-<6-digit number>, gapless per hospital and year',
    }),
    appointmentId: Uuid,
    status: Type.Union(
      INVOICE_STATUSES.map((s) => Type.Literal(s)),
      { description: 'pending → paid | void' },
    ),
    currency: Type.String({ description: "ISO 4217 code: the hospital's currency when issued" }),
    total: Money,
    hospital: Type.Object({ id: Uuid, name: Type.String(), address: Type.String() }),
    doctor: Type.Object({ id: Uuid, name: Type.String() }),
    patientName: Nullable(Type.String()),
    visitDate: LocalDate,
    serial: Type.Integer(),
    issuedOn: LocalDate,
    issuedAt: Instant,
    paidAt: Nullable(Instant),
    voidedAt: Nullable(Instant),
    voidReason: Nullable(Type.String()),
    timezone: Type.String({ description: "The hospital's IANA zone" }),
    items: Type.Array(
      Type.Object({
        kind: Type.Union([Type.Literal('consultation'), Type.Literal('service')]),
        description: Type.String(),
        amount: Money,
      }),
    ),
    payments: Type.Array(
      Type.Object({
        kind: Type.Union([Type.Literal('payment'), Type.Literal('refund')]),
        method: Method,
        amount: Money,
        reference: Nullable(Type.String()),
        reason: Nullable(Type.String()),
        recordedAt: Instant,
      }),
      { description: 'The payment, and the refund of a voided paid invoice' },
    ),
  },
  { description: 'The invoice of a completed visit' },
);

export const InvoiceListQuerySchema = Type.Object(
  {
    status: Type.Optional(
      Type.Union(
        INVOICE_STATUSES.map((s) => Type.Literal(s)),
        { description: 'Only invoices in this status' },
      ),
    ),
    from: Type.Optional(Type.String({ format: 'date', description: 'Issued on or after this local date' })),
    to: Type.Optional(Type.String({ format: 'date', description: 'Issued on or before this local date' })),
    hospitalId: Type.Optional(
      Type.String({ format: 'uuid', description: "One hospital's (staff: only their own; another is 403)" }),
    ),
    ...PageQuery,
  },
  { additionalProperties: false },
);

export const PayBodySchema = Type.Object(
  { method: Method, reference: Type.Optional(Reference) },
  { additionalProperties: false },
);

export const VoidBodySchema = Type.Object(
  {
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      pattern: '\\S',
      description: 'Why the invoice is voided (audited)',
    }),
    refund: Type.Optional(
      Type.Object(
        { method: Method, reference: Type.Optional(Reference) },
        {
          additionalProperties: false,
          description: 'Required for a paid invoice: how the full amount was given back',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const InvoiceLinkParams = Type.Object({
  token: Type.String({
    minLength: 20,
    maxLength: 100,
    description: "The token of the invoice message's link",
  }),
});
