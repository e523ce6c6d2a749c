// Directory HTTP: hospitals, catalogs, favorites and photo files; doctors and reviews in doctors.routes.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { notFound } from '../../errors.js';
import { errors, IdParams, Page } from '../../lib/schema.js';
import { principalOf, requireRole } from '../../plugins/auth.js';
import type { CatalogName } from './directory.repository.js';
import {
  CatalogBodySchema,
  CatalogItemSchema,
  CatalogQuerySchema,
  DoctorIdParams,
  FavoriteSchema,
  FavoritesQuerySchema,
  HospitalBodySchema,
  HospitalDetailSchema,
  HospitalQuerySchema,
  HospitalSchema,
  HospitalUpdateSchema,
  PhotoParams,
  ServiceBodySchema,
  ServiceSchema,
  ServiceUpdateSchema,
} from './directory.schema.js';
import doctorsRoutes from './doctors.routes.js';

const security = [{ bearer: [] }];

const directoryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.directory;
  // Not HTTP, but registered once with the module's routes so app.ts stays one line per module.
  service.doctors.subscribe(app.events);

  // Hospitals ----------------------------------------------------------------------------------------------

  app.get(
    '/hospitals',
    {
      schema: {
        tags: ['directory'],
        summary: 'Hospitals, by name; filter by city and a (typo-tolerant) name',
        querystring: HospitalQuerySchema,
        response: { 200: Page(HospitalSchema), ...errors() },
      },
    },
    async (request) => service.listHospitals(request.query),
  );

  app.get(
    '/hospitals/:id',
    {
      schema: {
        tags: ['directory'],
        summary: 'A hospital with the verified doctors who hold sessions there',
        params: IdParams,
        response: { 200: HospitalDetailSchema, ...errors(404) },
      },
    },
    async (request) => service.hospital(request.params.id),
  );

  app.post(
    '/hospitals',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['directory'],
        security,
        body: HospitalBodySchema,
        response: { 201: HospitalSchema, ...errors(401, 403) },
      },
    },
    async (request, reply) => reply.status(201).send(await service.createHospital(request.body)),
  );

  app.patch(
    '/hospitals/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['directory'],
        security,
        params: IdParams,
        body: HospitalUpdateSchema,
        response: { 200: HospitalSchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => service.updateHospital(request.params.id, request.body),
  );

  app.delete(
    '/hospitals/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['directory'],
        security,
        summary: 'Remove a hospital; refused (409) while it has upcoming appointments or active sessions',
        params: IdParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await service.deleteHospital(request.params.id);
      return reply.status(204).send(null);
    },
  );

  // Catalogs -----------------------------------------------------------------------------------------------

  for (const table of ['specializations', 'qualifications'] as const) {
    registerCatalogReads(app, table, CatalogItemSchema);
    app.post(
      `/${table}`,
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['catalogs'],
          security,
          body: CatalogBodySchema,
          response: { 201: CatalogItemSchema, ...errors(401, 403, 409) },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await service.createCatalogItem(table, request.body.name)),
    );
    app.patch(
      `/${table}/:id`,
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['catalogs'],
          security,
          params: IdParams,
          body: CatalogBodySchema,
          response: { 200: CatalogItemSchema, ...errors(401, 403, 404, 409) },
        },
      },
      async (request) => service.updateCatalogItem(table, request.params.id, request.body.name),
    );
  }

  registerCatalogReads(app, 'services', ServiceSchema);
  app.post(
    '/services',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['catalogs'],
        security,
        body: ServiceBodySchema,
        response: { 201: ServiceSchema, ...errors(401, 403, 409) },
      },
    },
    async (request, reply) => reply.status(201).send(await service.createService(request.body)),
  );
  app.patch(
    '/services/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['catalogs'],
        security,
        params: IdParams,
        body: ServiceUpdateSchema,
        response: { 200: ServiceSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => service.updateService(request.params.id, request.body),
  );

  for (const table of ['specializations', 'qualifications', 'services'] as const) {
    app.delete(
      `/${table}/:id`,
      {
        preHandler: requireRole('admin'),
        schema: {
          tags: ['catalogs'],
          security,
          summary: 'Remove a catalog entry (doctors lose it from their profiles)',
          params: IdParams,
          response: { 204: Type.Null(), ...errors(401, 403, 404, 409) },
        },
      },
      async (request, reply) => {
        await service.deleteCatalogItem(table, request.params.id);
        return reply.status(204).send(null);
      },
    );
  }

  // Favorites ----------------------------------------------------------------------------------------------

  app.get(
    '/me/favorites',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['me'],
        security,
        querystring: FavoritesQuerySchema,
        response: { 200: Page(FavoriteSchema), ...errors(401) },
      },
    },
    async (request) => service.listFavorites(principalOf(request), request.query),
  );

  app.put(
    '/me/favorites/:doctorId',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['me'],
        security,
        summary: 'Mark a doctor as a favorite (idempotent)',
        params: DoctorIdParams,
        response: { 204: Type.Null(), ...errors(401, 404) },
      },
    },
    async (request, reply) => {
      await service.addFavorite(principalOf(request), request.params.doctorId);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/me/favorites/:doctorId',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['me'],
        security,
        summary: 'Unmark a favorite (idempotent)',
        params: DoctorIdParams,
        response: { 204: Type.Null(), ...errors(401) },
      },
    },
    async (request, reply) => {
      await service.removeFavorite(principalOf(request), request.params.doctorId);
      return reply.status(204).send(null);
    },
  );

  // Photo files --------------------------------------------------------------------------------------------

  app.get(
    '/photos/:name',
    {
      schema: {
        tags: ['directory'],
        summary: 'A stored doctor photo',
        params: PhotoParams,
        response: { 200: Type.Unknown({ description: 'The image bytes' }), ...errors(404) },
      },
    },
    async (request, reply) => {
      const photo = await service.photos.get(request.params.name);
      if (!photo) throw notFound('Photo');
      return reply
        .type(photo.contentType)
        .header('cache-control', 'public, max-age=86400, immutable')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
        .header('x-content-type-options', 'nosniff')
        .send(photo.bytes);
    },
  );

  await app.register(doctorsRoutes);
};

function registerCatalogReads(
  app: Parameters<FastifyPluginAsyncTypebox>[0],
  table: CatalogName,
  item: typeof CatalogItemSchema | typeof ServiceSchema,
) {
  app.get(
    `/${table}`,
    {
      schema: {
        tags: ['catalogs'],
        querystring: CatalogQuerySchema,
        response: { 200: Page(item), ...errors() },
      },
    },
    async (request) => app.directory.listCatalog(table, request.query),
  );
}

export default directoryRoutes;
