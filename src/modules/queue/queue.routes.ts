import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { errors, Page } from '../../lib/schema.js';
import { identify, principalOf, requireRole } from '../../plugins/auth.js';
import { ENTRY_ACTIONS } from '../day/day.rules.js';
import {
  AppointmentParamsSchema,
  CallNextBodySchema,
  CloseBodySchema,
  EntryParamsSchema,
  IfMatchHeadersSchema,
  OperationResultSchema,
  PauseBodySchema,
  QueueListQuerySchema,
  QueueParamsSchema,
  QueueSummarySchema,
  ReasonBodySchema,
  type Snapshot,
  SnapshotSchema,
  TrackParamsSchema,
  TrackViewSchema,
  WalkInBodySchema,
  WalkInResultSchema,
} from './queue.schema.js';

/** `If-Match: 12` (or the ETag form `"12"` / `W/"12"`) → 12; absent → undefined; anything else → 400. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match)
    throw new AppError('VALIDATION_FAILED', 'If-Match must be a queue version number', { field: 'if-match' });
  return Number(match[1]);
}

/** These bodies are all optional; an empty POST validates as `{}`. */
async function emptyBody(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

function withVersion<T extends { version: number }>(reply: FastifyReply, result: T): T {
  reply.header('etag', `"${result.version}"`);
  return result;
}

const queueRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.queue;
  const security = [{ bearer: [] }];
  const operation = { 200: OperationResultSchema, ...errors(401, 403, 404, 409) };

  app.get(
    '/queues',
    {
      preHandler: identify,
      schema: {
        tags: ['queues'],
        summary: 'Session days (queues) by date, hospital or doctor',
        querystring: QueueListQuerySchema,
        response: { 200: Page(QueueSummarySchema), ...errors(401) },
      },
    },
    async (request) => service.list(request.query),
  );

  app.get(
    '/queues/:queueId',
    {
      preHandler: identify,
      schema: {
        tags: ['queues'],
        summary: 'Live snapshot; names and appointment ids only for staff of the hospital and its doctor',
        params: QueueParamsSchema,
        response: { 200: SnapshotSchema, ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      const viewer = request.principal;
      // Guests and patients see serials only: one JSON text per queue version, kept in memory.
      if (viewer === null || viewer.role === 'patient') {
        const guest = await service.reads.guestSnapshot(request.params.queueId, (snapshot) =>
          String(reply.serialize(snapshot)),
        );
        // Already the route's serialisation of a Snapshot: a string with a JSON type is sent as it is.
        return reply
          .header('etag', `"${guest.version}"`)
          .type('application/json; charset=utf-8')
          .send(guest.body as unknown as Snapshot);
      }
      return withVersion(reply, await service.snapshot(viewer, request.params.queueId));
    },
  );

  app.post(
    '/queues/:queueId/call-next',
    {
      preValidation: emptyBody,
      preHandler: requireRole('staff', 'doctor', 'admin'),
      schema: {
        tags: ['queues'],
        summary:
          'Call the next patient: the visit in progress ends first (completed unless `previous` says otherwise), then the first in line who is checked in or not yet late is called; with nobody left in line it only ends the visit in progress',
        security,
        params: QueueParamsSchema,
        headers: IfMatchHeadersSchema,
        body: CallNextBodySchema,
        response: operation,
      },
    },
    async (request, reply) =>
      withVersion(
        reply,
        await service.callNext(
          principalOf(request),
          request.params.queueId,
          parseIfMatch(request.headers['if-match']),
          request.body?.previous,
        ),
      ),
  );

  app.post(
    '/queues/:queueId/walk-ins',
    {
      preHandler: requireRole('staff', 'doctor', 'admin'),
      schema: {
        tags: ['queues'],
        summary:
          'Add a walk-in with the next serial (a priority above 0 goes to the front and needs a reason)',
        security,
        params: QueueParamsSchema,
        headers: IfMatchHeadersSchema,
        body: WalkInBodySchema,
        response: { 201: WalkInResultSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const result = await service.walkIn(
        principalOf(request),
        request.params.queueId,
        request.body,
        parseIfMatch(request.headers['if-match']),
      );
      return reply.status(201).send(withVersion(reply, result));
    },
  );

  app.post(
    '/queues/:queueId/pause',
    {
      preValidation: emptyBody,
      preHandler: requireRole('staff', 'doctor', 'admin'),
      schema: {
        tags: ['queues'],
        summary: 'Pause the queue with an optional message and end time (sent as doctor:notice)',
        security,
        params: QueueParamsSchema,
        headers: IfMatchHeadersSchema,
        body: PauseBodySchema,
        response: operation,
      },
    },
    async (request, reply) =>
      withVersion(
        reply,
        await service.pause(
          principalOf(request),
          request.params.queueId,
          request.body ?? {},
          parseIfMatch(request.headers['if-match']),
        ),
      ),
  );

  app.post(
    '/queues/:queueId/resume',
    {
      preHandler: requireRole('staff', 'doctor', 'admin'),
      schema: {
        tags: ['queues'],
        security,
        params: QueueParamsSchema,
        headers: IfMatchHeadersSchema,
        response: operation,
      },
    },
    async (request, reply) =>
      withVersion(
        reply,
        await service.resume(
          principalOf(request),
          request.params.queueId,
          parseIfMatch(request.headers['if-match']),
        ),
      ),
  );

  app.post(
    '/queues/:queueId/close',
    {
      preHandler: requireRole('staff', 'doctor', 'admin'),
      schema: {
        tags: ['queues'],
        summary: 'Close the queue; remaining waiting entries become no-shows or are kept',
        security,
        params: QueueParamsSchema,
        headers: IfMatchHeadersSchema,
        body: CloseBodySchema,
        response: operation,
      },
    },
    async (request, reply) =>
      withVersion(
        reply,
        await service.close(
          principalOf(request),
          request.params.queueId,
          request.body,
          parseIfMatch(request.headers['if-match']),
        ),
      ),
  );

  for (const action of ENTRY_ACTIONS) {
    app.post(
      `/queues/:queueId/entries/:appointmentId/${action}`,
      {
        preValidation: emptyBody,
        preHandler: requireRole('staff', 'doctor', 'admin'),
        schema: {
          tags: ['queues'],
          summary:
            action === 'call' || action === 'recall'
              ? `${action} an entry (out of order needs a reason code)`
              : `${action} an entry`,
          security,
          params: EntryParamsSchema,
          headers: IfMatchHeadersSchema,
          body: ReasonBodySchema,
          response: operation,
        },
      },
      async (request, reply) =>
        withVersion(
          reply,
          await service.entryAction(
            principalOf(request),
            request.params.queueId,
            request.params.appointmentId,
            action,
            {
              ifMatch: parseIfMatch(request.headers['if-match']),
              reason: request.body?.reason,
              previous: request.body?.previous,
            },
          ),
        ),
    );
  }

  app.post(
    '/appointments/:id/check-in',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['queues'],
        summary: 'The patient checks in on the day',
        security,
        params: AppointmentParamsSchema,
        response: operation,
      },
    },
    async (request, reply) =>
      withVersion(reply, await service.selfCheckIn({ viewer: principalOf(request) }, request.params.id)),
  );

  app.get(
    '/track/:trackingToken',
    {
      config: { rateLimit: { max: 600, timeWindow: '1 minute' } },
      schema: {
        tags: ['queues'],
        summary: 'Follow one appointment by its tracking link (no login)',
        params: TrackParamsSchema,
        response: { 200: TrackViewSchema, ...errors(404, 429) },
      },
    },
    async (request) => service.track(request.params.trackingToken),
  );

  app.post(
    '/track/:trackingToken/check-in',
    {
      config: { rateLimit: { max: 30, timeWindow: '1 minute' } },
      schema: {
        tags: ['queues'],
        summary: 'Check in by tracking link',
        params: TrackParamsSchema,
        response: { 200: OperationResultSchema, ...errors(404, 409, 429) },
      },
    },
    async (request, reply) =>
      withVersion(reply, await service.selfCheckIn({ trackingToken: request.params.trackingToken }, null)),
  );
};

export default queueRoutes;
