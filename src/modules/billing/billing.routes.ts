import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors, IdParams, Page } from '../../lib/schema.js';
import { principalOf, requireRole } from '../../plugins/auth.js';
import { invoicePdf } from './billing.pdf.js';
import {
  InvoiceLinkParams,
  InvoiceListQuerySchema,
  InvoiceSchema,
  PayBodySchema,
  VoidBodySchema,
} from './billing.schema.js';
import type { InvoiceView } from './billing.service.js';

const PDF_NOTE = 'JSON; with `Accept: application/pdf`, the invoice as a PDF';

async function sendPdf(reply: FastifyReply, invoice: InvoiceView) {
  return reply
    .type('application/pdf')
    .header('content-disposition', `inline; filename="invoice-${invoice.number}.pdf"`)
    .header('cache-control', 'private, no-store')
    .send(await invoicePdf(invoice));
}

/** `Accept: application/pdf` asks for the PDF; anything else (or nothing) gets JSON. */
const wantsPdf = (request: FastifyRequest) => /\bapplication\/pdf\b/i.test(request.headers.accept ?? '');

const billingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const billing = app.billing;
  const security = [{ bearer: [] }];
  const staff = requireRole('staff', 'admin');

  app.get(
    '/appointments/:id/invoice',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['billing'],
        security,
        summary: "A completed visit's invoice: the patient's own, their hospital's for staff, any for admins",
        description: PDF_NOTE,
        params: IdParams,
        response: { 200: InvoiceSchema, ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      const invoice = await billing.forAppointment(principalOf(request), request.params.id);
      return wantsPdf(request) ? sendPdf(reply, invoice) : invoice;
    },
  );

  app.get(
    '/invoice-pdf/:token',
    {
      config: { rateLimit: { max: 60, timeWindow: '1 minute' } },
      schema: {
        tags: ['billing'],
        summary: "The invoice PDF behind the invoice message's link (no sign-in; the link works 90 days)",
        params: InvoiceLinkParams,
        produces: ['application/pdf'],
        response: { ...errors(404, 429) },
      },
    },
    async (request, reply) => sendPdf(reply, await billing.byLink(request.params.token)),
  );

  app.get(
    '/invoices',
    {
      preHandler: requireRole('patient', 'staff', 'admin'),
      schema: {
        tags: ['billing'],
        security,
        summary: "Invoices, newest first: a patient's own, their hospital's for staff, all for admins",
        querystring: InvoiceListQuerySchema,
        response: { 200: Page(InvoiceSchema), ...errors(401, 403) },
      },
    },
    async (request) => billing.list(principalOf(request), request.query),
  );

  app.post(
    '/invoices/:id/pay',
    {
      preHandler: staff,
      schema: {
        tags: ['billing'],
        security,
        summary: 'Record the payment of a pending invoice in full (staff of its hospital; audited)',
        params: IdParams,
        body: PayBodySchema,
        response: { 200: InvoiceSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => billing.pay(principalOf(request), request.params.id, request.body, request.ip),
  );

  app.post(
    '/invoices/:id/void',
    {
      preHandler: staff,
      schema: {
        tags: ['billing'],
        security,
        summary:
          'Void an invoice with a reason; a paid one only with its refund (staff of its hospital; audited)',
        params: IdParams,
        body: VoidBodySchema,
        response: { 200: InvoiceSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => billing.void(principalOf(request), request.params.id, request.body, request.ip),
  );
};

export default billingRoutes;
