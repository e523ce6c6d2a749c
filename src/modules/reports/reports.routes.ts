import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors } from '../../lib/schema.js';
import { principalOf, requireRole } from '../../plugins/auth.js';
import { reportCsv } from './reports.csv.js';
import { ReportQuerySchema, ReportSchema, ScheduleQuerySchema, ScheduleSchema } from './reports.schema.js';
import { ReportsService } from './reports.service.js';

/** `Accept` names text/csv ahead of any JSON type (no q-values are weighed: clients asking for CSV ask plainly). */
function prefersCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  const types = accept.split(',').map((t) => t.split(';')[0].trim().toLowerCase());
  const csv = types.indexOf('text/csv');
  const json = types.findIndex((t) => t === 'application/json' || t === '*/*');
  return csv !== -1 && (json === -1 || csv < json);
}

const reportsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new ReportsService({ db: app.db });
  const security = [{ bearer: [] }];
  const readers = requireRole('staff', 'doctor', 'admin');

  app.get(
    '/schedule',
    {
      preHandler: readers,
      schema: {
        tags: ['reports'],
        summary:
          'Per day per doctor session: capacity, booked, checked in, completed, no-shows, cancellations, waitlist (staff: their hospital; doctors: their own; admins: all)',
        security,
        querystring: ScheduleQuerySchema,
        response: { 200: ScheduleSchema, ...errors(401, 403) },
      },
    },
    async (request) => service.schedule(principalOf(request), request.query),
  );

  app.get(
    '/reports/appointments',
    {
      preHandler: readers,
      schema: {
        tags: ['reports'],
        summary:
          'Appointment figures for a day, ISO week, month or custom range (≤ 400 days): counts, waits, consults, no-shows, hourly flow, ETA accuracy beside a naive baseline; per doctor and per doctor per day. `Accept: text/csv` answers one CSV row per doctor per day',
        security,
        querystring: ReportQuerySchema,
        produces: ['application/json', 'text/csv'],
        response: {
          200: { ...ReportSchema, description: 'The report (JSON), or CSV with `Accept: text/csv`' },
          ...errors(401, 403),
        },
      },
    },
    async (request, reply) => {
      const report = await service.appointments(principalOf(request), request.query);
      if (!prefersCsv(request.headers.accept)) return report;
      const name = `appointments-${report.from}-${report.to}.csv`;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(reportCsv(report) as unknown as typeof report);
    },
  );
};

export default reportsRoutes;
