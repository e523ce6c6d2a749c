// Wiring of the notifications module: transports from config, the service's event subscriptions, outbox
// metrics, and the node-cron ticks (started when the app is ready, stopped when it closes).
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { AppError } from '../../errors.js';
import { scheduleJobs } from '../../lib/cron.js';
import type { Principal } from '../../plugins/auth.js';
import { subscribeAccountMessages } from './notifications.accounts.js';
import { NotificationQueries } from './notifications.queries.js';
import * as repo from './notifications.repository.js';
import { NotificationsService, SCAN_WINDOW_MS } from './notifications.service.js';
import { LogTransport, SmtpTransport, type Transport, TwilioTransport } from './notifications.transports.js';
import { type AppointmentActions, ProviderWebhooks } from './notifications.webhooks.js';
import { NotificationsWorker } from './notifications.worker.js';

export interface Notifications {
  /** Domain events → outbox rows. */
  service: NotificationsService;
  /** Listings and preferences. */
  queries: NotificationQueries;
  /** Delivery reports and inbound SMS. */
  webhooks: ProviderWebhooks;
  worker: NotificationsWorker;
  /** One drain tick (what the cron runs). */
  drain: NotificationsWorker['drain'];
  /** One reminder scan tick (what the cron runs). */
  scanReminders: () => ReturnType<NotificationsWorker['scanReminders']>;
}

/**
 * SMS replies act as the account that owns the appointment, through the appointments service (so the
 * booking rules and cut-offs apply) and so through the day ledger.
 */
function appointmentActions(app: FastifyInstance): AppointmentActions {
  const owner = async (appointmentId: string): Promise<Principal> => {
    const row = await app.db
      .selectFrom('appointments as a')
      .leftJoin('patientProfiles as pp', 'pp.id', 'a.profileId')
      .leftJoin('users as u', 'u.id', 'pp.accountId')
      .select(['u.id', 'u.name', 'pp.id as profileId'])
      .where('a.id', '=', appointmentId)
      .executeTakeFirst();
    if (!row?.id) throw new AppError('NOT_FOUND', 'Appointment has no account');
    return {
      id: row.id,
      role: 'patient',
      name: row.name ?? '',
      hospitalId: null,
      doctorId: null,
      profileId: row.profileId,
    };
  };
  return {
    async confirm(id) {
      await app.appointments.changes.confirm(await owner(id), id);
    },
    async cancel(id, _actor, reason) {
      await app.appointments.changes.cancel(await owner(id), id, reason);
    },
  };
}

function transports(app: FastifyInstance): Record<'sms' | 'email', Transport> {
  const { config } = app;
  const sms =
    config.NOTIFY_SMS === 'twilio'
      ? new TwilioTransport({
          accountSid: config.TWILIO_ACCOUNT_SID as string,
          authToken: config.TWILIO_AUTH_TOKEN as string,
          from: config.TWILIO_FROM as string,
          apiUrl: config.TWILIO_API_URL,
          timeoutMs: config.NOTIFY_TIMEOUT_MS,
          statusCallback: `${config.PUBLIC_URL}/v1/webhooks/twilio/status`,
          phoneRegion: config.DEFAULT_PHONE_REGION,
        })
      : new LogTransport('sms', app.log);
  const email =
    config.NOTIFY_EMAIL === 'smtp'
      ? new SmtpTransport({
          url: config.SMTP_URL as string,
          from: config.MAIL_FROM,
          timeoutMs: config.NOTIFY_TIMEOUT_MS,
        })
      : new LogTransport('email', app.log);
  return { sms, email };
}

function registerMetrics(app: FastifyInstance) {
  const registers = [app.metrics];
  const sent = new Counter({
    name: 'carequeue_outbox_sent_total',
    help: 'Messages handed to a provider',
    labelNames: ['channel'] as const,
    registers,
  });
  const failed = new Counter({
    name: 'carequeue_outbox_failed_total',
    help: 'Messages given up on after their last attempt',
    labelNames: ['channel'] as const,
    registers,
  });
  let gauges: Promise<{ queued: number; oldest: Date | null }> | null = null;
  // Both gauges come from one query per scrape.
  const read = () => {
    gauges ??= repo.outboxGauges(app.db, app.clock.now()).finally(() => {
      setImmediate(() => {
        gauges = null;
      });
    });
    return gauges;
  };
  new Gauge({
    name: 'carequeue_outbox_queued',
    help: 'Messages due and not yet sent (pending or being sent)',
    registers,
    async collect() {
      this.set((await read()).queued);
    },
  });
  new Gauge({
    name: 'carequeue_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest due message still waiting to be sent',
    registers,
    async collect() {
      const { oldest } = await read();
      this.set(oldest ? Math.max(0, (app.clock.now().getTime() - oldest.getTime()) / 1000) : 0);
    },
  });
  return {
    sent: (channel: string) => sent.inc({ channel }),
    failed: (channel: string) => failed.inc({ channel }),
  };
}

export function createNotifications(app: FastifyInstance): Notifications {
  const { config } = app;
  const rules = { publicUrl: config.PUBLIC_URL, phoneRegion: config.DEFAULT_PHONE_REGION };
  const service = new NotificationsService({ db: app.db, clock: app.clock, events: app.events, ...rules });
  service.subscribe();
  subscribeAccountMessages({ events: app.events, clock: app.clock, publicUrl: rules.publicUrl });
  const queries = new NotificationQueries({ db: app.db, clock: app.clock });
  const webhooks = new ProviderWebhooks({
    db: app.db,
    clock: app.clock,
    phoneRegion: rules.phoneRegion,
    appointments: appointmentActions(app),
  });
  const channels = transports(app);
  const worker = new NotificationsWorker({
    db: app.db,
    clock: app.clock,
    transports: channels,
    counters: registerMetrics(app),
    log: app.log,
    leaseMs: Math.max(60_000, config.NOTIFY_TIMEOUT_MS * 3),
    sendTimeoutMs: config.NOTIFY_TIMEOUT_MS,
    ...rules,
  });
  if (['true', '1'].includes(config.NOTIFY_CRON)) {
    scheduleJobs(app, [
      { name: 'outbox drain', expression: config.OUTBOX_DRAIN_CRON, run: () => worker.drain() },
      {
        name: 'reminder scan',
        expression: config.REMINDER_SCAN_CRON,
        run: () => worker.scanReminders(SCAN_WINDOW_MS),
      },
    ]);
  }
  // Registered after the jobs' own preClose: the ticks stop and finish first, then the transports close.
  app.addHook('preClose', async () => {
    for (const transport of Object.values(channels)) await transport.close?.();
  });
  return {
    service,
    queries,
    webhooks,
    worker,
    drain: () => worker.drain(),
    scanReminders: () => worker.scanReminders(SCAN_WINDOW_MS),
  };
}
