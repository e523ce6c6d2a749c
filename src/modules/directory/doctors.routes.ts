// Doctors and reviews HTTP: search, profiles, edits, verification, photo upload, reviews.
import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { scheduleJobs } from '../../lib/cron.js';
import { errors, IdParams, Page } from '../../lib/schema.js';
import { identify, principalOf, requireRole } from '../../plugins/auth.js';
import {
  DoctorListItemSchema,
  DoctorProfileSchema,
  DoctorQuerySchema,
  DoctorUpdateSchema,
  ReviewBodySchema,
  ReviewQuerySchema,
  ReviewSchema,
  ReviewUpdateSchema,
  VerifyBodySchema,
} from './directory.schema.js';
import { MAX_PHOTO_BYTES } from './doctors.service.js';
import { AdminDoctorQuerySchema, AdminDoctorSchema } from './doctors-admin.schema.js';

const security = [{ bearer: [] }];

/**
 * The "photo" part of a multipart body. The parser's own refusals (no boundary, a malformed part) carry no
 * status and would be answered as 500; they are bad input. Its limit errors (413) keep theirs.
 */
async function readPhotoPart(request: FastifyRequest): Promise<{ bytes: Buffer; mimetype: string }> {
  try {
    const file = await request.file();
    if (file?.fieldname !== 'photo') {
      throw new AppError('VALIDATION_FAILED', 'body.photo is required', [
        { field: 'body.photo', message: 'is required' },
      ]);
    }
    // toBuffer throws 413 past the size limit, before anything is stored.
    return { bytes: await file.toBuffer(), mimetype: file.mimetype };
  } catch (err) {
    if (err instanceof AppError || (err as { statusCode?: number }).statusCode) throw err;
    throw new AppError('VALIDATION_FAILED', 'body is not valid multipart/form-data', [
      { field: 'body', message: (err as Error).message },
    ]);
  }
}

const doctorsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const doctors = app.directory.doctors;
  const reviews = app.directory.reviews;
  // Encapsulated here: only the photo route takes multipart bodies.
  await app.register(multipart, {
    limits: { fileSize: MAX_PHOTO_BYTES, files: 1, fields: 4, parts: 5, fieldSize: 1024 },
  });

  app.get(
    '/doctors',
    {
      schema: {
        tags: ['directory'],
        summary: 'Find verified doctors: typo-tolerant name or exact licence number, filters combine',
        querystring: DoctorQuerySchema,
        response: { 200: Page(DoctorListItemSchema), ...errors() },
      },
    },
    async (request) => doctors.search(request.query),
  );

  app.get(
    '/doctors/:id',
    {
      preHandler: identify,
      schema: {
        tags: ['directory'],
        summary: 'A doctor profile (unverified ones only to themselves and admins)',
        params: IdParams,
        response: { 200: DoctorProfileSchema, ...errors(401, 404) },
      },
    },
    async (request) => doctors.profile(request.params.id, request.principal),
  );

  app.patch(
    '/doctors/:id',
    {
      preHandler: requireRole('doctor', 'admin'),
      schema: {
        tags: ['directory'],
        security,
        summary: 'Edit a profile: the doctor themself or an admin',
        params: IdParams,
        body: DoctorUpdateSchema,
        response: { 200: DoctorProfileSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => doctors.update(principalOf(request), request.params.id, request.body),
  );

  app.post(
    '/doctors/:id/photo',
    {
      preHandler: requireRole('doctor', 'admin'),
      schema: {
        tags: ['directory'],
        security,
        summary: `Upload a photo (multipart field "photo": JPEG, PNG or WebP, at most ${MAX_PHOTO_BYTES / 1048576} MB)`,
        consumes: ['multipart/form-data'],
        params: IdParams,
        response: { 200: DoctorProfileSchema, ...errors(401, 403, 404, 413, 415) },
      },
    },
    async (request) => {
      if (!request.isMultipart()) {
        throw new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          'Send the photo as multipart/form-data in a "photo" field',
        );
      }
      const { bytes, mimetype } = await readPhotoPart(request);
      return doctors.setPhoto(principalOf(request), request.params.id, { bytes, mimetype });
    },
  );

  app.post(
    '/doctors/:id/verify',
    {
      // An empty POST means "verify".
      preValidation: async (request) => {
        request.body ??= { verified: true };
      },
      preHandler: requireRole('admin'),
      schema: {
        tags: ['directory'],
        security,
        summary: 'Verify a doctor (lists them publicly); {verified:false} withdraws it',
        params: IdParams,
        body: VerifyBodySchema,
        response: { 200: DoctorProfileSchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => doctors.setVerified(request.params.id, request.body.verified),
  );

  app.get(
    '/admin/doctors',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['admin'],
        security,
        summary:
          'All doctors with contact details and credentials, newest registration first; verified=false lists those waiting for verification',
        querystring: AdminDoctorQuerySchema,
        response: { 200: Page(AdminDoctorSchema), ...errors(401, 403) },
      },
    },
    async (request) => doctors.listForAdmin(request.query),
  );

  app.get(
    '/doctors/:id/reviews',
    {
      preHandler: identify,
      schema: {
        tags: ['reviews'],
        summary: 'Reviews of a doctor, newest first; includeHidden for the doctor and admins',
        params: IdParams,
        querystring: ReviewQuerySchema,
        response: { 200: Page(ReviewSchema), ...errors(401, 403, 404) },
      },
    },
    async (request) => reviews.list(request.params.id, request.principal, request.query),
  );

  app.post(
    '/appointments/:id/review',
    {
      preHandler: requireRole('patient'),
      schema: {
        tags: ['reviews'],
        security,
        summary: 'Review a completed visit, once, as the account that booked it',
        params: IdParams,
        body: ReviewBodySchema,
        response: { 201: ReviewSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await reviews.create(principalOf(request), request.params.id, request.body)),
  );

  app.patch(
    '/reviews/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['reviews'],
        security,
        summary: 'Hide or show a review (hidden ones leave the rating)',
        params: IdParams,
        body: ReviewUpdateSchema,
        response: { 200: ReviewSchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => reviews.setHidden(request.params.id, request.body.hidden),
  );

  // The stored orders that time moves: soonest days (cut-offs pass, days roll over) and the 90-day visits.
  app.addHook('onReady', async () => {
    await doctors.refreshAllSoonest();
  });
  scheduleJobs(app, [
    {
      name: 'soonest refresh',
      expression: app.config.SOONEST_REFRESH_CRON,
      run: () => doctors.refreshAllSoonest(),
    },
    {
      name: 'popularity refresh',
      expression: app.config.POPULARITY_REFRESH_CRON,
      run: () => doctors.refreshPopularity(),
    },
  ]);
};

export default doctorsRoutes;
