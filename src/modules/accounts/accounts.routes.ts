import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errors, IdParams, Page } from '../../lib/schema.js';
import { principalOf, requireRole } from '../../plugins/auth.js';
import { addressKey } from '../../plugins/security.js';
import {
  AdminUserCreateSchema,
  AdminUserQuerySchema,
  AdminUserUpdateSchema,
  AuditEntrySchema,
  DependentBodySchema,
  DependentSchema,
  DependentUpdateSchema,
  LoginBodySchema,
  MeUpdateSchema,
  RefreshBodySchema,
  RegisterBodySchema,
  TokensSchema,
  UserSchema,
} from './accounts.schema.js';

const accountsRoutes: FastifyPluginAsyncTypebox<{ authRateLimit: number }> = async (app, opts) => {
  const service = app.accounts;
  const authLimit = {
    rateLimit: { max: opts.authRateLimit, timeWindow: '1 minute', keyGenerator: addressKey },
  };
  const security = [{ bearer: [] }];

  app.post(
    '/auth/register',
    {
      config: authLimit,
      schema: {
        tags: ['auth'],
        summary: 'Register a patient or a doctor (doctors start unverified)',
        body: RegisterBodySchema,
        response: { 201: TokensSchema, ...errors(409, 429) },
      },
    },
    async (request, reply) => reply.status(201).send(await service.register(request.body)),
  );

  app.post(
    '/auth/login',
    {
      config: authLimit,
      schema: { tags: ['auth'], body: LoginBodySchema, response: { 200: TokensSchema, ...errors(401, 429) } },
    },
    async (request) => service.login(request.body.email, request.body.password),
  );

  app.post(
    '/auth/refresh',
    {
      config: authLimit,
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token; presenting a used one revokes its whole family',
        body: RefreshBodySchema,
        response: { 200: TokensSchema, ...errors(401, 429) },
      },
    },
    async (request) => service.refresh(request.body.refreshToken),
  );

  app.post(
    '/auth/logout',
    {
      config: authLimit,
      schema: { tags: ['auth'], body: RefreshBodySchema, response: { 204: Type.Null(), ...errors(429) } },
    },
    async (request, reply) => {
      await service.logout(request.body.refreshToken);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      preHandler: requireRole(),
      schema: { tags: ['me'], security, response: { 200: UserSchema, ...errors(401) } },
    },
    async (request) => service.me(principalOf(request).id),
  );

  app.patch(
    '/me',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['me'],
        security,
        body: MeUpdateSchema,
        response: { 200: UserSchema, ...errors(401, 403) },
      },
    },
    async (request) => service.updateMe(principalOf(request).id, request.body),
  );

  app.get(
    '/me/dependents',
    {
      preHandler: requireRole('patient'),
      schema: { tags: ['me'], security, response: { 200: Page(DependentSchema), ...errors(401, 403) } },
    },
    async (request) => ({ items: await service.listDependents(principalOf(request).id), nextCursor: null }),
  );

  app.post(
    '/me/dependents',
    {
      preHandler: requireRole('patient'),
      schema: {
        tags: ['me'],
        security,
        body: DependentBodySchema,
        response: { 201: DependentSchema, ...errors(401, 403, 409) },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await service.addDependent(principalOf(request).id, request.body)),
  );

  app.patch(
    '/me/dependents/:id',
    {
      preHandler: requireRole('patient'),
      schema: {
        tags: ['me'],
        security,
        params: IdParams,
        body: DependentUpdateSchema,
        response: { 200: DependentSchema, ...errors(401, 403, 404) },
      },
    },
    async (request) => service.updateDependent(principalOf(request).id, request.params.id, request.body),
  );

  app.delete(
    '/me/dependents/:id',
    {
      preHandler: requireRole('patient'),
      schema: {
        tags: ['me'],
        security,
        params: IdParams,
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await service.removeDependent(principalOf(request).id, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/admin/users',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['admin'],
        security,
        querystring: AdminUserQuerySchema,
        response: { 200: Page(UserSchema), ...errors(401, 403) },
      },
    },
    async (request) => service.listUsers(request.query),
  );

  app.post(
    '/admin/users',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['admin'],
        security,
        summary: 'Create a staff, admin or doctor account',
        body: AdminUserCreateSchema,
        response: { 201: UserSchema, ...errors(401, 403, 409) },
      },
    },
    async (request, reply) => {
      const actor = { id: principalOf(request).id, ip: request.ip };
      return reply.status(201).send(await service.createUser(actor, request.body));
    },
  );

  app.patch(
    '/admin/users/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['admin'],
        security,
        summary: 'Change role or hospital, or disable an account (revokes its sessions)',
        params: IdParams,
        body: AdminUserUpdateSchema,
        response: { 200: UserSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const actor = { id: principalOf(request).id, ip: request.ip };
      return service.updateUser(actor, request.params.id, request.body);
    },
  );

  app.get(
    '/admin/audit',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['admin'],
        security,
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(AuditEntrySchema), ...errors(401, 403) },
      },
    },
    async (request) => service.listAudit(request.query),
  );
};

export default accountsRoutes;
