// Request validation. Query strings, params and headers arrive as text, so their values are coerced to the
// schema's types; JSON bodies are not: a number where a string belongs is a client bug, answered with 400.
// Every validator also refuses a NUL character anywhere in the input (Postgres cannot store 0x00 in text).

import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const BASE: Options = { useDefaults: true, removeAdditional: false, allErrors: false, addUsedSchema: false };

function makeAjv(coerceTypes: Options['coerceTypes']): Ajv {
  const ajv = new Ajv({ ...BASE, coerceTypes });
  addFormats.default(ajv);
  return ajv;
}

const coercing = makeAjv('array');
const strict = makeAjv(false);

export const NUL_MESSAGE = 'must not contain a NUL character';

/** JSON-pointer escaping, as Ajv writes instancePath; a NUL in a key is shown as \0 so the path stays printable. */
function pointerSegment(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1').replaceAll('\0', '\\0');
}

/**
 * The instance path of the first string (value or object key) holding U+0000, or null. Iterative, so a deeply
 * nested body cannot overflow the stack.
 */
export function findNul(data: unknown): string | null {
  const stack: [unknown, string][] = [[data, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, string];
    if (typeof value === 'string') {
      if (value.includes('\0')) return path;
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}/${i}`]);
    } else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        const child = `${path}/${pointerSegment(key)}`;
        if (key.includes('\0')) return child;
        stack.push([(value as Record<string, unknown>)[key], child]);
      }
    }
  }
  return null;
}

/**
 * Wraps a compiled validator so NUL is refused before the schema runs, for every part of every route. Fastify
 * reads `errors` from the function it was given and passes Ajv's parent data when `schemaEnv` is present (so a
 * root value can be coerced in place); both are kept.
 */
function refusingNul(validate: ValidateFunction): ValidateFunction {
  const wrapped = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => {
    const path = findNul(data);
    if (path !== null) {
      const error: ErrorObject = {
        instancePath: path,
        schemaPath: '#',
        keyword: 'noNul',
        params: {},
        message: NUL_MESSAGE,
      };
      wrapped.errors = [error];
      return false;
    }
    const valid = validate(data, context);
    wrapped.errors = validate.errors;
    return valid;
  }) as ValidateFunction;
  Object.assign(wrapped, { schema: validate.schema, schemaEnv: validate.schemaEnv });
  return wrapped;
}

function compile(ajv: Ajv, schema: object): ValidateFunction {
  const id = (schema as { $id?: string }).$id;
  return (id && ajv.getSchema(id)) || ajv.compile(schema);
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  refusingNul(compile(httpPart === 'body' ? strict : coercing, schema));
