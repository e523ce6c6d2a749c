import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors, IdParams, Page } from '../../lib/schema.js';
import { principalOf, requireRole } from '../../plugins/auth.js';
import {
  FeedbackBodySchema,
  FeedbackLinkParams,
  FeedbackLinkSchema,
  FeedbackListQuerySchema,
  FeedbackSchema,
} from './feedback.schema.js';

/** Per address: a link is guessed by no one, but the anonymous routes still get a budget. */
const LINK_RATE_LIMIT = { rateLimit: { max: 30, timeWindow: '1 minute' } };

const feedbackRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const feedback = app.feedback;
  const security = [{ bearer: [] }];

  app.post(
    '/appointments/:id/feedback',
    {
      preHandler: requireRole('patient'),
      schema: {
        tags: ['feedback'],
        security,
        summary: 'Private feedback on a completed visit: once, by the account that owns it, within 30 days',
        params: IdParams,
        body: FeedbackBodySchema,
        response: { 201: FeedbackSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await feedback.submit(principalOf(request), request.params.id, request.body)),
  );

  app.get(
    '/feedback',
    {
      preHandler: requireRole('patient', 'staff', 'admin'),
      schema: {
        tags: ['feedback'],
        security,
        summary: "Feedback, newest first: a hospital's for its staff, all for admins, a patient's own",
        querystring: FeedbackListQuerySchema,
        response: { 200: Page(FeedbackSchema), ...errors(401, 403) },
      },
    },
    async (request) => feedback.list(principalOf(request), request.query),
  );

  app.get(
    '/feedback-links/:token',
    {
      config: LINK_RATE_LIMIT,
      schema: {
        tags: ['feedback'],
        summary: 'The visit a feedback link is for (no sign-in); 404 once it expired',
        params: FeedbackLinkParams,
        response: { 200: FeedbackLinkSchema, ...errors(404, 429) },
      },
    },
    async (request) => feedback.linkDetails(request.params.token),
  );

  app.post(
    '/feedback-links/:token',
    {
      config: LINK_RATE_LIMIT,
      schema: {
        tags: ['feedback'],
        summary: "Feedback through the message's single-use link (no sign-in); 409 once used",
        params: FeedbackLinkParams,
        body: FeedbackBodySchema,
        response: { 201: FeedbackSchema, ...errors(404, 409, 429) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await feedback.submitByLink(request.params.token, request.body)),
  );
};

export default feedbackRoutes;
