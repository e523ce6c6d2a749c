// Patients HTTP: the front desk's lookup (GET /patients?q=) and on-the-spot registration (POST /patients).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors, Page } from '../../lib/schema.js';
import { principalOf, requireRole } from '../../plugins/auth.js';
import {
  PatientCreatedSchema,
  PatientCreateSchema,
  PatientMatchSchema,
  PatientQuerySchema,
} from './patients.schema.js';
import { PatientsService } from './patients.service.js';

/** Per signed-in user: enough for a busy desk, too few to page through the patient base. */
export const PATIENT_LOOKUP_LIMIT = { max: 60, timeWindow: '1 minute' } as const;

const patientsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new PatientsService({
    db: app.db,
    clock: app.clock,
    phoneRegion: app.config.DEFAULT_PHONE_REGION,
    accounts: app.accounts.admin,
  });
  const security = [{ bearer: [] }];

  app.get(
    '/patients',
    {
      preHandler: requireRole('staff', 'admin'),
      config: { rateLimit: PATIENT_LOOKUP_LIMIT },
      schema: {
        tags: ['patients'],
        security,
        summary:
          "Find patients (and dependents) by name, e-mail or phone, to book on their behalf. Staff find their hospital's patients (an appointment there), others only by a whole e-mail address or phone number",
        querystring: PatientQuerySchema,
        response: { 200: Page(PatientMatchSchema), ...errors(401, 403, 429) },
      },
    },
    async (request) => service.search(principalOf(request), request.query),
  );

  app.post(
    '/patients',
    {
      preHandler: requireRole('staff', 'admin'),
      config: { rateLimit: PATIENT_LOOKUP_LIMIT },
      schema: {
        tags: ['patients'],
        security,
        summary:
          'Register a patient at the desk: an account of their own (random password) with its self profile',
        body: PatientCreateSchema,
        response: { 201: PatientCreatedSchema, ...errors(401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      const actor = { id: principalOf(request).id, ip: request.ip };
      return reply.status(201).send(await service.register(actor, request.body));
    },
  );
};

export default patientsRoutes;
