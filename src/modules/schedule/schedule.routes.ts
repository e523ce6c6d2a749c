import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errors, IdParams, Page } from '../../lib/schema.js';
import { identify, principalOf, requireRole } from '../../plugins/auth.js';
import {
  DayAvailabilityQuerySchema,
  DayOpeningSchema,
  DoctorAvailabilityQuerySchema,
  FreeSerialsSchema,
  OpeningSchema,
  PendingSessionSchema,
  PendingSessionsQuerySchema,
  SerialsQuerySchema,
  SessionChangeResultSchema,
  SessionCreateSchema,
  SessionDeleteQuerySchema,
  SessionSchema,
  SessionUpdateSchema,
  TimeOffCreatedSchema,
  TimeOffCreateSchema,
  TimeOffQuerySchema,
  TimeOffSchema,
} from './schedule.schema.js';

const scheduleRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.schedule;
  const security = [{ bearer: [] }];
  const managers = requireRole('doctor', 'staff', 'admin');

  app.get(
    '/doctors/:id/sessions',
    {
      preHandler: identify,
      schema: {
        tags: ['schedule'],
        summary: "A doctor's weekly sessions",
        params: IdParams,
        response: { 200: Page(SessionSchema), ...errors(401, 404) },
      },
    },
    async (request) => service.listSessions(request.params.id),
  );

  app.post(
    '/doctors/:id/sessions',
    {
      preHandler: managers,
      schema: {
        tags: ['schedule'],
        security,
        summary: 'Add a weekly session (the doctor, an admin, or staff of that hospital)',
        params: IdParams,
        body: SessionCreateSchema,
        response: { 201: SessionSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await service.createSession(principalOf(request), request.params.id, request.body)),
  );

  app.patch(
    '/sessions/:id',
    {
      preHandler: managers,
      schema: {
        tags: ['schedule'],
        security,
        summary: 'Edit a session; a change that would invalidate bookings needs cancelAffected: true',
        params: IdParams,
        body: SessionUpdateSchema,
        response: { 200: SessionChangeResultSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => service.updateSession(principalOf(request), request.params.id, request.body),
  );

  app.delete(
    '/sessions/:id',
    {
      preHandler: managers,
      schema: {
        tags: ['schedule'],
        security,
        summary: 'Remove a session; with bookings ahead it needs cancelAffected=true',
        params: IdParams,
        querystring: SessionDeleteQuerySchema,
        response: {
          200: Type.Object({ cancelledAppointmentIds: Type.Array(Type.String({ format: 'uuid' })) }),
          ...errors(401, 403, 404, 409),
        },
      },
    },
    async (request) => service.deleteSession(principalOf(request), request.params.id, request.query),
  );

  app.post(
    '/sessions/:id/confirm',
    {
      preHandler: requireRole('staff', 'admin'),
      schema: {
        tags: ['schedule'],
        security,
        summary:
          "Confirm a doctor's session at this hospital (its staff or an admin); only then is it bookable and listed",
        params: IdParams,
        response: { 200: SessionSchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => service.confirmSession(principalOf(request), request.params.id),
  );

  app.get(
    '/sessions/pending',
    {
      preHandler: requireRole('staff', 'admin'),
      schema: {
        tags: ['schedule'],
        security,
        summary:
          "Sessions doctors entered that wait for the hospital's confirmation (staff: their own hospital)",
        querystring: PendingSessionsQuerySchema,
        response: { 200: Page(PendingSessionSchema), ...errors(401, 403) },
      },
    },
    async (request) => service.listPendingSessions(principalOf(request), request.query.hospitalId),
  );

  app.get(
    '/doctors/:id/time-off',
    {
      preHandler: identify,
      schema: {
        tags: ['schedule'],
        params: IdParams,
        querystring: TimeOffQuerySchema,
        response: { 200: Page(TimeOffSchema), ...errors(401, 404) },
      },
    },
    async (request) => service.listTimeOff(request.params.id, request.query.from),
  );

  app.post(
    '/doctors/:id/time-off',
    {
      preHandler: managers,
      schema: {
        tags: ['schedule'],
        security,
        summary:
          "Add time off; bookings inside it are cancelled and their patients notified. Entered by staff, it covers only their hospital's sessions",
        params: IdParams,
        body: TimeOffCreateSchema,
        response: { 201: TimeOffCreatedSchema, ...errors(401, 403, 404) },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await service.createTimeOff(principalOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/time-off/:id',
    {
      preHandler: managers,
      schema: {
        tags: ['schedule'],
        security,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await service.deleteTimeOff(principalOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/doctors/:id/availability',
    {
      preHandler: identify,
      schema: {
        tags: ['schedule'],
        summary: `Bookable dates of a doctor (at most 62 days), in the hospital's zone`,
        params: IdParams,
        querystring: DoctorAvailabilityQuerySchema,
        response: { 200: Page(OpeningSchema), ...errors(401, 404) },
      },
    },
    async (request) => service.doctorAvailability(request.params.id, request.query.from, request.query.to),
  );

  app.get(
    '/sessions/:id/serials',
    {
      preHandler: identify,
      schema: {
        tags: ['schedule'],
        summary: 'Free serials of a session on a date with their estimated times (a patient picks one)',
        params: IdParams,
        querystring: SerialsQuerySchema,
        response: { 200: FreeSerialsSchema, ...errors(401, 404, 422) },
      },
    },
    async (request) => service.availability.freeSerials(request.params.id, request.query.date),
  );

  app.get(
    '/availability',
    {
      preHandler: identify,
      schema: {
        tags: ['schedule'],
        summary: 'Doctors with room on a date (the calendar view)',
        querystring: DayAvailabilityQuerySchema,
        response: { 200: Page(DayOpeningSchema), ...errors(401) },
      },
    },
    async (request) => service.dayAvailability(request.query),
  );
};

export default scheduleRoutes;
