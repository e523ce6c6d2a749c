// Request validation. Query strings, params and headers arrive as text, so their values are coerced to the
// schema's types; JSON bodies are not: a number where a string belongs is a client bug, answered with 400.

import { Ajv, type Options, type ValidateFunction } from 'ajv';
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

function compile(ajv: Ajv, schema: object): ValidateFunction {
  const id = (schema as { $id?: string }).$id;
  return (id && ajv.getSchema(id)) || ajv.compile(schema);
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  compile(httpPart === 'body' ? strict : coercing, schema);
