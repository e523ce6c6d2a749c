// Care records HTTP: medical history, visit records (with break-glass), the patient's access trail,
// prescriptions (printable, with a public check) and attachments.
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { errors, IdParams, Page, PageQuery } from '../../lib/schema.js';
import { principalOf, requireRole } from '../../plugins/auth.js';
import { ATTACHMENT_MAX_BYTES } from './care.attachments.service.js';
import {
  AttachmentSchema,
  BreakGlassBodySchema,
  HistorySchema,
  HistoryUpdateSchema,
  PrescriptionCreateSchema,
  PrescriptionSchema,
  ProfileParams,
  RecordAccessSchema,
  RecordCreateSchema,
  RecordListQuerySchema,
  RecordSchema,
  RecordUpdateSchema,
  RecordVersionSchema,
  VerifyQuerySchema,
  VerifySchema,
} from './care.schema.js';

const security = [{ bearer: [] }];
const tags = ['care'];
const signedIn = requireRole();

/** The "file" part of a multipart body; the parser's own refusals are bad input, its limit errors 413. */
async function readFilePart(request: FastifyRequest): Promise<{ bytes: Buffer; fileName: string }> {
  if (!request.isMultipart()) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Send the attachment as multipart/form-data in a "file" field',
    );
  }
  try {
    const file = await request.file();
    if (file?.fieldname !== 'file') {
      throw new AppError('VALIDATION_FAILED', 'body.file is required', [
        { field: 'body.file', message: 'is required' },
      ]);
    }
    return { bytes: await file.toBuffer(), fileName: file.filename };
  } catch (err) {
    if (err instanceof AppError || (err as { statusCode?: number }).statusCode) throw err;
    throw new AppError('VALIDATION_FAILED', 'body is not valid multipart/form-data', [
      { field: 'body', message: (err as Error).message },
    ]);
  }
}

/** A non-JSON answer (HTML text or file bytes): sent as is, shown in the docs as a string. */
const FileBody = (description: string) =>
  Type.Unsafe<string | Buffer>({ type: 'string', format: 'binary', description });

/** Accept names application/pdf ahead of text/html (or without it). */
function prefersPdf(accept: string | undefined): boolean {
  const types = (accept ?? '').split(',').map((part) => part.split(';')[0].trim().toLowerCase());
  const pdf = types.indexOf('application/pdf');
  const html = types.indexOf('text/html');
  return pdf !== -1 && (html === -1 || pdf < html);
}

const careRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const care = app.care;
  await app.register(multipart, {
    limits: { fileSize: ATTACHMENT_MAX_BYTES, files: 1, fields: 4, parts: 5, fieldSize: 1024 },
  });
  // Medical content is never cached by a browser or a proxy.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get(
    '/patients/:profileId/history',
    {
      preHandler: signedIn,
      schema: {
        tags,
        security,
        summary: 'A profile’s medical history: its account (guardian) or a doctor who sees the patient',
        description:
          'A doctor may read it with a visit today or a completed visit before; each such read is audited.',
        params: ProfileParams,
        response: { 200: HistorySchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => care.history.get(principalOf(request), request.params.profileId),
  );

  app.patch(
    '/patients/:profileId/history',
    {
      preHandler: signedIn,
      schema: {
        tags,
        security,
        summary: 'Edit a medical history (same people as reading it; a doctor’s edit is audited)',
        params: ProfileParams,
        body: HistoryUpdateSchema,
        response: { 200: HistorySchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => care.history.update(principalOf(request), request.params.profileId, request.body),
  );

  app.get(
    '/patients/:profileId/records',
    {
      preHandler: signedIn,
      schema: {
        tags,
        security,
        summary: 'A profile’s visit records, newest first',
        description:
          'For the patient (guardian) and doctors who see the patient; nobody else, staff and admins included.',
        params: ProfileParams,
        querystring: RecordListQuerySchema,
        response: { 200: Page(RecordSchema), ...errors(401, 403, 404) },
      },
    },
    async (request) => care.records.list(principalOf(request), request.params.profileId, request.query),
  );

  app.post(
    '/patients/:profileId/records',
    {
      preHandler: requireRole('doctor'),
      schema: {
        tags,
        security,
        summary:
          'Write the visit record of an appointment (its doctor, from check-in until 7 days after the visit)',
        description:
          'One record per visit: a second answers 409 with details.recordId; edit that one instead.',
        params: ProfileParams,
        body: RecordCreateSchema,
        response: { 201: RecordSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await care.records.create(principalOf(request), request.params.profileId, request.body)),
  );

  app.get(
    '/records/:id',
    {
      preHandler: signedIn,
      schema: {
        tags,
        security,
        summary: 'One visit record with its attachments and prescriptions',
        description:
          'Clinicians without access get 403 with details.breakGlass; see POST /records/:id/break-glass.',
        params: IdParams,
        response: { 200: RecordSchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => care.records.get(principalOf(request), request.params.id),
  );

  app.patch(
    '/records/:id',
    {
      preHandler: requireRole('doctor'),
      schema: {
        tags,
        security,
        summary:
          'Edit a visit record (its doctor, until 7 days after the visit); the earlier version is kept',
        params: IdParams,
        body: RecordUpdateSchema,
        response: { 200: RecordSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => care.records.update(principalOf(request), request.params.id, request.body),
  );

  app.get(
    '/records/:id/versions',
    {
      preHandler: signedIn,
      schema: {
        tags,
        security,
        summary: 'Earlier versions of a visit record, newest first (readers of the record)',
        params: IdParams,
        response: { 200: Page(RecordVersionSchema), ...errors(401, 403, 404) },
      },
    },
    async (request) => care.records.versions(principalOf(request), request.params.id),
  );

  app.post(
    '/records/:id/break-glass',
    {
      preHandler: requireRole('doctor', 'staff', 'admin'),
      schema: {
        tags,
        security,
        summary: 'Open a record without access, giving a reason (audited and shown to the patient)',
        params: IdParams,
        body: BreakGlassBodySchema,
        response: { 200: RecordSchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => care.records.breakGlass(principalOf(request), request.params.id, request.body.reason),
  );

  app.get(
    '/me/record-access',
    {
      preHandler: signedIn,
      schema: {
        tags,
        security,
        summary:
          'Who read or wrote the care records of my profiles and dependents (break-glass with its reason)',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(RecordAccessSchema), ...errors(401) },
      },
    },
    async (request) => care.access.trail(principalOf(request), request.query),
  );

  app.post(
    '/records/:id/prescriptions',
    {
      preHandler: requireRole('doctor'),
      schema: {
        tags,
        security,
        summary: 'Prescribe on a visit record (the record’s doctor, while the record may be written)',
        params: IdParams,
        body: PrescriptionCreateSchema,
        response: { 201: PrescriptionSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await care.prescriptions.create(principalOf(request), request.params.id, request.body.items)),
  );

  app.get(
    '/me/prescriptions',
    {
      preHandler: signedIn,
      schema: {
        tags,
        security,
        summary: 'Prescriptions of my own profile and my dependents, newest first',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page(PrescriptionSchema), ...errors(401) },
      },
    },
    async (request) => care.prescriptions.mine(principalOf(request), request.query),
  );

  app.get(
    '/prescriptions/:id',
    {
      preHandler: signedIn,
      schema: {
        tags,
        security,
        summary: 'A printable prescription: HTML, or PDF with Accept: application/pdf',
        description: 'Hospital, doctor’s name and licence number, date, items and a verification QR code.',
        params: IdParams,
        querystring: Type.Object(
          {
            format: Type.Optional(
              Type.Union([Type.Literal('html'), Type.Literal('pdf')], {
                description: 'Overrides Accept (for links, which cannot set headers)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        produces: ['text/html', 'application/pdf'],
        response: {
          200: FileBody('text/html or application/pdf'),
          ...errors(401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const pdf = request.query.format === 'pdf' || prefersPdf(request.headers.accept);
      const printed = await care.prescriptions.printable(
        principalOf(request),
        request.params.id,
        pdf ? 'pdf' : 'html',
      );
      if (pdf) {
        return reply
          .type('application/pdf')
          .header('content-disposition', `inline; filename="prescription-${request.params.id}.pdf"`)
          .send(printed);
      }
      return reply.type('text/html; charset=utf-8').send(printed);
    },
  );

  app.get(
    '/prescriptions/:id/verify',
    {
      schema: {
        tags,
        summary: 'Public check of a printed prescription: valid or not, and the day issued; nothing else',
        params: IdParams,
        querystring: VerifyQuerySchema,
        response: { 200: VerifySchema, ...errors() },
      },
    },
    async (request) => care.prescriptions.verify(request.params.id, request.query.code),
  );

  app.post(
    '/records/:id/attachments',
    {
      preHandler: requireRole('doctor'),
      schema: {
        tags,
        security,
        summary: `Attach a lab result (multipart field "file": PDF, JPEG or PNG by its bytes, at most ${ATTACHMENT_MAX_BYTES / 1048576} MB)`,
        consumes: ['multipart/form-data'],
        params: IdParams,
        response: { 201: AttachmentSchema, ...errors(401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const file = await readFilePart(request);
      return reply
        .status(201)
        .send(await care.attachments.upload(principalOf(request), request.params.id, file));
    },
  );

  app.get(
    '/attachments/:id',
    {
      preHandler: signedIn,
      schema: {
        tags,
        security,
        summary: 'Download an attachment (those who may read its record), always as a download',
        params: IdParams,
        produces: ['application/pdf', 'image/jpeg', 'image/png'],
        response: { 200: FileBody('The file'), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const file = await care.attachments.download(principalOf(request), request.params.id);
      return reply
        .type(file.contentType)
        .header('content-disposition', `attachment; filename="${file.fileName}"`)
        .header('x-content-type-options', 'nosniff')
        .send(file.bytes);
    },
  );
};

export default careRoutes;
