import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { scheduleJobs } from '../../lib/cron.js';
import { errors, IdParams, Page } from '../../lib/schema.js';
import { principalOf, requireRole } from '../../plugins/auth.js';
import { appointmentCalendar } from './appointments.ics.js';
import { purgeIdempotencyKeys } from './appointments.idempotency.js';
import {
  AppointmentListQuerySchema,
  AppointmentSchema,
  BookedAppointmentSchema,
  BookingBodySchema,
  CancelBodySchema,
  IdempotencyHeadersSchema,
  QueueIdParams,
  RescheduleBodySchema,
  WaitlistEntrySchema,
  WaitlistJoinBodySchema,
} from './appointments.schema.js';

/** Per user: generous for a front desk, tight enough to stop a script from hoarding serials. */
const BOOKING_RATE_LIMIT = { rateLimit: { max: 60, timeWindow: '1 minute' } };
const SWEEP_MS = 30_000;

const appointmentsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { booking, reads, changes } = app.appointments;
  const waitlist = app.appointments.waitlist;
  const security = [{ bearer: [] }];
  const anyone = requireRole();

  app.post(
    '/appointments',
    {
      preHandler: requireRole('patient', 'staff', 'admin'),
      config: BOOKING_RATE_LIMIT,
      schema: {
        tags: ['appointments'],
        security,
        summary: 'Book a serial (Idempotency-Key makes a retry return the first result)',
        headers: IdempotencyHeadersSchema,
        body: BookingBodySchema,
        response: { 201: BookedAppointmentSchema, ...errors(401, 403, 404, 409, 422, 429) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await booking.book(principalOf(request), request.body, request.headers['idempotency-key'])),
  );

  app.get(
    '/appointments',
    {
      preHandler: anyone,
      schema: {
        tags: ['appointments'],
        security,
        summary: "Appointments the caller may see: a patient's own and dependents', a doctor's, a hospital's",
        querystring: AppointmentListQuerySchema,
        response: { 200: Page(AppointmentSchema), ...errors(401) },
      },
    },
    async (request) => reads.list(principalOf(request), request.query),
  );

  app.get(
    '/appointments/:id',
    {
      preHandler: anyone,
      schema: {
        tags: ['appointments'],
        security,
        params: IdParams,
        response: { 200: AppointmentSchema, ...errors(401, 404) },
      },
    },
    async (request) => reads.get(principalOf(request), request.params.id),
  );

  app.get(
    '/appointments/:id/calendar.ics',
    {
      preHandler: anyone,
      schema: {
        tags: ['appointments'],
        security,
        summary: "The appointment as an iCalendar file in the hospital's zone",
        params: IdParams,
        response: { 200: Type.String(), ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      const row = await reads.visible(principalOf(request), request.params.id);
      return reply
        .type('text/calendar; charset=utf-8')
        .header('content-disposition', `attachment; filename="appointment-${row.id}.ics"`)
        .send(appointmentCalendar(row, app.config.PUBLIC_URL));
    },
  );

  app.post(
    '/appointments/:id/reschedule',
    {
      preHandler: anyone,
      config: BOOKING_RATE_LIMIT,
      schema: {
        tags: ['appointments'],
        security,
        summary: 'Move to another session day atomically; a refusal leaves the booking as it was',
        params: IdParams,
        body: RescheduleBodySchema,
        response: { 200: AppointmentSchema, ...errors(401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) => changes.reschedule(principalOf(request), request.params.id, request.body),
  );

  app.post(
    '/appointments/:id/cancel',
    {
      preHandler: anyone,
      schema: {
        tags: ['appointments'],
        security,
        summary: 'Cancel (patients until the cutoff; staff and doctors any time); the serial is not reused',
        params: IdParams,
        body: CancelBodySchema,
        response: { 200: AppointmentSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => changes.cancel(principalOf(request), request.params.id, request.body.reason),
  );

  app.post(
    '/appointments/:id/confirm',
    {
      preHandler: anyone,
      schema: {
        tags: ['appointments'],
        security,
        params: IdParams,
        response: { 200: AppointmentSchema, ...errors(401, 404, 409) },
      },
    },
    async (request) => changes.confirm(principalOf(request), request.params.id),
  );

  app.post(
    '/queues/:queueId/waitlist',
    {
      preHandler: requireRole('patient', 'staff', 'admin'),
      schema: {
        tags: ['appointments'],
        security,
        summary: 'Join the waitlist of a full session day',
        params: QueueIdParams,
        body: WaitlistJoinBodySchema,
        response: { 201: WaitlistEntrySchema, ...errors(401, 403, 404, 409, 422) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await waitlist.join(principalOf(request), request.params.queueId, request.body.profileId)),
  );

  app.get(
    '/waitlist',
    {
      preHandler: anyone,
      schema: {
        tags: ['appointments'],
        security,
        response: { 200: Page(WaitlistEntrySchema), ...errors(401) },
      },
    },
    async (request) => waitlist.list(principalOf(request)),
  );

  app.delete(
    '/waitlist/:id',
    {
      preHandler: anyone,
      schema: {
        tags: ['appointments'],
        security,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      await waitlist.leave(principalOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/waitlist/:id/accept',
    {
      preHandler: anyone,
      schema: {
        tags: ['appointments'],
        security,
        summary: 'Take up an offered place before the offer lapses',
        params: IdParams,
        response: { 201: BookedAppointmentSchema, ...errors(401, 404, 409, 422) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await booking.acceptOffer(principalOf(request), request.params.id)),
  );

  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    timer = setInterval(() => {
      waitlist.sweepLapsedOffers().catch((err) => app.log.warn({ err }, 'waitlist sweep failed'));
    }, SWEEP_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
  });
  scheduleJobs(app, [
    {
      name: 'idempotency cleanup',
      expression: app.config.IDEMPOTENCY_CLEANUP_CRON,
      run: () => purgeIdempotencyKeys({ db: app.db, clock: app.clock }),
    },
  ]);
};

export default appointmentsRoutes;
