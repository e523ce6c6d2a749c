// buildApp(config): the whole server as a Fastify instance, ready to listen or to be injected in tests.
import { join } from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { AppError } from './errors.js';
import { DomainEvents } from './events.js';
import { Keyring } from './lib/cipher.js';
import { validatorCompiler } from './lib/validator.js';
import { AccountAdmin } from './modules/accounts/accounts.admin.service.js';
import { AccountAuth } from './modules/accounts/accounts.auth.service.js';
import { AccountProfiles } from './modules/accounts/accounts.profiles.service.js';
import { AccountPasswordReset } from './modules/accounts/accounts.reset.service.js';
import accountsRoutes from './modules/accounts/accounts.routes.js';
import type { AccountsDeps } from './modules/accounts/accounts.shared.js';
import appointmentsRoutes from './modules/appointments/appointments.routes.js';
import { AppointmentsService } from './modules/appointments/appointments.service.js';
import billingRoutes from './modules/billing/billing.routes.js';
import { BillingService } from './modules/billing/billing.service.js';
import careRoutes from './modules/care/care.routes.js';
import { CareService } from './modules/care/care.service.js';
import { DayBookings } from './modules/day/day.bookings.js';
import { DayLedger } from './modules/day/day.ledger.js';
import directoryRoutes from './modules/directory/directory.routes.js';
import { DirectoryService } from './modules/directory/directory.service.js';
import { BlobPhotoStorage, importDiskPhotos } from './modules/directory/photo.storage.js';
import feedbackRoutes from './modules/feedback/feedback.routes.js';
import { FeedbackService } from './modules/feedback/feedback.service.js';
import { createBlobStore } from './modules/files/files.setup.js';
import type { BlobStore } from './modules/files/files.store.js';
import notificationsRoutes from './modules/notifications/notifications.routes.js';
import { createNotifications, type Notifications } from './modules/notifications/notifications.setup.js';
import opsRoutes from './modules/ops/ops.routes.js';
import patientsRoutes from './modules/patients/patients.routes.js';
import { QueueEmitter } from './modules/queue/queue.emitter.js';
import { LiveQueue } from './modules/queue/queue.live.js';
import queueRoutes from './modules/queue/queue.routes.js';
import { QueueService } from './modules/queue/queue.service.js';
import queueSockets from './modules/queue/queue.socket.js';
import { createQueueStore, type QueueStore } from './modules/queue/queue.store.js';
import { QueueVersions } from './modules/queue/queue.versions.js';
import reportsRoutes from './modules/reports/reports.routes.js';
import scheduleRoutes from './modules/schedule/schedule.routes.js';
import { ScheduleService } from './modules/schedule/schedule.service.js';
import authPlugin, { ACCESS_TOKEN_SECONDS } from './plugins/auth.js';
import cachePlugin from './plugins/cache.js';
import dbPlugin from './plugins/db.js';
import docsPlugin from './plugins/docs.js';
import errorsPlugin, { clientErrorHandler, frameworkErrors, MAX_PARAM_LENGTH } from './plugins/errors.js';
import metricsPlugin from './plugins/metrics.js';
import overloadPlugin from './plugins/overload.js';
import pagesPlugin from './plugins/pages.js';
import realtimePlugin from './plugins/realtime.js';
import redisPlugin from './plugins/redis.js';
import securityPlugin from './plugins/security.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    clock: Clock;
    events: DomainEvents;
    /** The accounts module's services, each called for its own part: there is no facade over them. */
    accounts: {
      auth: AccountAuth;
      profiles: AccountProfiles;
      admin: AccountAdmin;
      reset: AccountPasswordReset;
    };
    schedule: ScheduleService;
    appointments: AppointmentsService;
    directory: DirectoryService;
    queue: QueueService;
    queueStore: QueueStore;
    notifications: Notifications;
    billing: BillingService;
    feedback: FeedbackService;
    care: CareService;
    /** The blob store every instance shares (files module). */
    blobs: BlobStore;
  }
}

export interface BuildOptions {
  /** An already open database (tests); otherwise opened from the config. */
  database?: DatabaseHandle;
  clock?: Clock;
  logger?: FastifyServerOptions['logger'];
}

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  '*.password',
  '*.currentPassword',
  '*.email',
  '*.phone',
  '*.name',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.trackingToken',
  '*.notes',
  '*.recipient',
  '*.text',
  // Care records: none of their fields may reach a log line, whatever logs a body.
  '*.complaint',
  '*.findings',
  '*.diagnosis',
  '*.icd10',
  '*.vitals',
  '*.allergies',
  '*.chronicConditions',
  '*.currentMedications',
  '*.bloodGroup',
  '*.items',
  '*.reason',
];

/** Tracking tokens travel in URLs; keep them out of logs. */
export function redactUrl(url: string): string {
  return url
    .replace(/\/(track|t|feedback|feedback-links|invoice-pdf)\/[^/?#]+/g, '/$1/[redacted]')
    .replace(/([?&](token|trackingToken|q|email|phone|name)=)[^&#]*/g, '$1[redacted]')
    .replace(/([?&][^=&#]+=)([^&#]*(@|%40|\d{6,})[^&#]*)/g, '$1[redacted]');
}

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: {
      req: (req) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
    },
    ...(process.stdout.isTTY
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } }
      : {}),
  };
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    trustProxy: config.TRUST_PROXY,
    bodyLimit: 1024 * 1024,
    requestIdHeader: 'x-request-id',
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);

  const database =
    options.database ??
    (await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolSize: config.DB_POOL_SIZE,
      poolWaitMs: config.DB_POOL_WAIT_MS,
    }));
  try {
    await migrateToLatest(database.db);
  } catch (err) {
    await database.db.destroy();
    throw err;
  }

  app.decorate('config', config);
  app.decorate('clock', options.clock ?? systemClock);
  app.decorate('events', new DomainEvents(app.log));
  await app.register(errorsPlugin);
  await app.register(overloadPlugin, { config });
  await app.register(dbPlugin, { handle: database });
  await app.register(redisPlugin, {
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES ? [...config.REDIS_CLUSTER_NODES] : undefined,
  });
  await app.register(authPlugin, { secret: config.JWT_SECRET });
  await app.register(securityPlugin, { config });
  await app.register(metricsPlugin);
  await app.register(cachePlugin);
  await app.register(docsPlugin);

  const accountsDeps: AccountsDeps = {
    db: app.db,
    clock: app.clock,
    phoneRegion: config.DEFAULT_PHONE_REGION,
    events: app.events,
    signAccessToken: app.signAccessToken,
    accessTokenSeconds: ACCESS_TOKEN_SECONDS,
  };
  const profiles = new AccountProfiles(accountsDeps);
  app.decorate('accounts', {
    auth: new AccountAuth(accountsDeps),
    profiles,
    admin: new AccountAdmin(accountsDeps, profiles),
    reset: new AccountPasswordReset(accountsDeps),
  });

  const blobs = createBlobStore(config, app.db);
  app.addHook('onClose', async () => blobs.close());
  app.decorate('blobs', blobs.store);
  const imported = await importDiskPhotos(join(config.DATA_DIR, 'uploads'), blobs.store);
  if (imported > 0)
    app.log.info({ imported, store: blobs.kind }, 'moved photos from DATA_DIR/uploads to the blob store');

  app.decorate(
    'directory',
    new DirectoryService({
      db: app.db,
      clock: app.clock,
      cache: app.cache,
      photos: new BlobPhotoStorage(app.blobs),
      phoneRegion: config.DEFAULT_PHONE_REGION,
    }),
  );

  await app.register(realtimePlugin, { prefix: config.REDIS_PREFIX, corsOrigins: config.CORS_ORIGINS });
  app.decorate('queueStore', createQueueStore({ redis: app.redis, prefix: config.REDIS_PREFIX }));
  const versions = new QueueVersions({
    redis: app.redis,
    channel: `${config.REDIS_PREFIX}queue-versions`,
    log: app.log,
  });
  app.addHook('onClose', () => versions.close());
  const liveQueue = new LiveQueue({
    db: app.db,
    store: app.queueStore,
    emitter: new QueueEmitter(app.io),
    clock: app.clock,
    log: app.log,
    versions,
  });
  app.events.afterCommit('queue.changed', (change) => liveQueue.publish(change));
  // The day ledger: queue operations, and places (bookings, cancellations, schedule changes).
  const ledger = new DayLedger({ clock: app.clock, live: liveQueue });
  const dayBookings = new DayBookings({ clock: app.clock, live: liveQueue });
  app.decorate(
    'queue',
    new QueueService({ db: app.db, events: app.events, clock: app.clock, live: liveQueue, ledger }),
  );
  await app.register(queueSockets);

  app.decorate(
    'schedule',
    new ScheduleService({
      db: app.db,
      clock: app.clock,
      events: app.events,
      ledger: dayBookings,
    }),
  );
  app.decorate(
    'appointments',
    new AppointmentsService({
      db: app.db,
      clock: app.clock,
      events: app.events,
      schedule: app.schedule,
      ledger: dayBookings,
      options: {
        cancelCutoffMinutes: config.CANCEL_CUTOFF_MINUTES,
        waitlistOfferMinutes: config.WAITLIST_OFFER_MINUTES,
        publicUrl: config.PUBLIC_URL,
      },
    }),
  );

  app.decorate('notifications', createNotifications(app));
  app.decorate(
    'billing',
    new BillingService({
      db: app.db,
      clock: app.clock,
      events: app.events,
      accounts: app.accounts.admin,
      publicUrl: config.PUBLIC_URL,
    }),
  );
  app.billing.subscribe();
  app.decorate(
    'feedback',
    new FeedbackService({ db: app.db, clock: app.clock, events: app.events, publicUrl: config.PUBLIC_URL }),
  );
  app.feedback.subscribe();
  app.decorate(
    'care',
    new CareService({
      db: app.db,
      clock: app.clock,
      keyring: new Keyring(
        config.ENCRYPTION_KEY,
        config.ENCRYPTION_KEY_PREVIOUS ? [config.ENCRYPTION_KEY_PREVIOUS] : [],
      ),
      blobs: app.blobs,
      audit: app.accounts.admin,
      appointments: app.appointments.reads,
      publicUrl: config.PUBLIC_URL,
    }),
  );
  await app.care.verifyKeys();

  await app.register(opsRoutes);
  await app.register(pagesPlugin);
  await app.register(
    async (v1) => {
      await v1.register(accountsRoutes, { authRateLimit: config.RATE_LIMIT_AUTH });
      await v1.register(scheduleRoutes);
      await v1.register(appointmentsRoutes);
      await v1.register(directoryRoutes);
      await v1.register(queueRoutes);
      await v1.register(notificationsRoutes);
      await v1.register(patientsRoutes);
      await v1.register(billingRoutes);
      await v1.register(feedbackRoutes);
      await v1.register(reportsRoutes);
      await v1.register(careRoutes);
    },
    { prefix: '/v1' },
  );

  if (config.ADMIN_EMAIL && config.ADMIN_PASSWORD) {
    const outcome = await app.accounts.admin.ensureAdmin(config.ADMIN_EMAIL, config.ADMIN_PASSWORD);
    if (outcome === 'created') app.log.info('created the admin account from ADMIN_EMAIL');
  }
  return app;
}
