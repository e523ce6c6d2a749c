// Shared TypeBox building blocks: ids, dates, pagination, the error shape.
import { type TSchema, Type } from '@sinclair/typebox';
import { ERROR_STATUS } from '../errors.js';

/** A UUID in any case, for ids read outside a route schema (cursors, sockets, id-or-name filters). */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid });
export const LocalDate = Type.String({
  format: 'date',
  description: "A local date in the hospital's zone, YYYY-MM-DD",
});
export const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'HH:MM' });
export const Instant = Type.String({ format: 'date-time' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const Email = Type.String({ format: 'email', maxLength: 254 });
export const PersonName = Type.String({ minLength: 1, maxLength: 200 });
export const PhoneInput = Type.String({
  minLength: 3,
  maxLength: 32,
  description: 'E.164, or national format',
});
export const Password = Type.String({ minLength: 8, maxLength: 200 });

export const ErrorSchema = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.Union(Object.keys(ERROR_STATUS).map((c) => Type.Literal(c))),
    error: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { $id: 'Error', description: 'Every error answer' },
);

/** Response schemas for the error statuses a route can answer. */
export function errors(...statuses: number[]): Record<number, typeof ErrorSchema> {
  return Object.fromEntries([400, ...statuses].map((s) => [s, ErrorSchema]));
}

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

/** Opaque keyset cursors: base64url of a JSON tuple. */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor<T extends unknown[]>(cursor: string | undefined, arity: number): T | null {
  if (!cursor) return null;
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(values) && values.length === arity) return values as T;
  } catch {}
  return null;
}
