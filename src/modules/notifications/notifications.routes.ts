import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { AppError } from '../../errors.js';
import { errors, Page } from '../../lib/schema.js';
import { principalOf, requireRole } from '../../plugins/auth.js';
import {
  NotificationQuerySchema,
  NotificationSchema,
  PreferencesPatchSchema,
  PreferencesSchema,
  TwilioInboundSchema,
  TwilioStatusSchema,
} from './notifications.schema.js';

const NO_HOSPITAL = '00000000-0000-0000-0000-000000000000';

const notificationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { queries, webhooks } = app.notifications;
  const security = [{ bearer: [] }];

  app.get(
    '/notifications',
    {
      preHandler: requireRole('staff', 'admin'),
      schema: {
        tags: ['notifications'],
        security,
        summary: "The outbox: staff see their hospital's messages, admins all",
        querystring: NotificationQuerySchema,
        response: { 200: Page(NotificationSchema), ...errors(401, 403) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const scope = principal.role === 'admin' ? {} : { hospitalId: principal.hospitalId ?? NO_HOSPITAL };
      return queries.list(scope, request.query);
    },
  );

  app.get(
    '/me/notifications',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['me'],
        security,
        querystring: NotificationQuerySchema,
        response: { 200: Page(NotificationSchema), ...errors(401) },
      },
    },
    async (request) => queries.list({ userId: principalOf(request).id }, request.query),
  );

  app.get(
    '/me/notification-preferences',
    {
      preHandler: requireRole(),
      schema: { tags: ['me'], security, response: { 200: PreferencesSchema, ...errors(401) } },
    },
    async (request) => queries.getPreferences(principalOf(request).id),
  );

  app.patch(
    '/me/notification-preferences',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['me'],
        security,
        body: PreferencesPatchSchema,
        response: { 200: PreferencesSchema, ...errors(401) },
      },
    },
    async (request) => queries.updatePreferences(principalOf(request).id, request.body),
  );

  // Webhooks are not signed in: Twilio signs them instead, checked before the body is even validated.
  const verifyTwilio = async (request: FastifyRequest) => {
    const token = app.config.TWILIO_AUTH_TOKEN;
    const signature = request.headers['x-twilio-signature'];
    const params =
      request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
    const url = `${app.config.PUBLIC_URL}${request.url}`;
    if (!token || typeof signature !== 'string' || !twilio.validateRequest(token, signature, url, params)) {
      throw new AppError('FORBIDDEN', 'Bad or missing X-Twilio-Signature');
    }
  };

  app.post(
    '/webhooks/twilio/status',
    {
      preValidation: verifyTwilio,
      schema: {
        tags: ['webhooks'],
        summary: 'Twilio delivery status callback (form encoded, signed)',
        consumes: ['application/x-www-form-urlencoded'],
        body: TwilioStatusSchema,
        response: { 200: Type.Object({ ok: Type.Boolean(), known: Type.Boolean() }), ...errors(403) },
      },
    },
    async (request) => {
      const known = await webhooks.deliveryReport({
        messageSid: request.body.MessageSid,
        status: request.body.MessageStatus,
        errorCode: request.body.ErrorCode,
      });
      return { ok: true, known };
    },
  );

  app.post(
    '/webhooks/twilio/inbound',
    {
      preValidation: verifyTwilio,
      schema: {
        tags: ['webhooks'],
        summary:
          'Incoming SMS: STOP/START/HELP, C confirms and X cancels the next appointment; answers TwiML',
        consumes: ['application/x-www-form-urlencoded'],
        body: TwilioInboundSchema,
        produces: ['text/xml'],
        response: { 200: Type.String({ description: 'TwiML' }), ...errors(403) },
      },
    },
    async (request, reply) => {
      let text: string;
      try {
        text = await webhooks.inboundSms(request.body.From, request.body.Body);
      } catch (err) {
        // A refused confirm/cancel (too late, wrong state) is told to the patient, not answered 4xx to Twilio.
        if (!(err instanceof AppError) || err.statusCode >= 500) throw err;
        text = `CareQueue: ${err.message}.`;
      }
      const twiml = new twilio.twiml.MessagingResponse();
      twiml.message(text);
      return reply.type('text/xml').send(twiml.toString());
    },
  );
};

export default notificationsRoutes;
