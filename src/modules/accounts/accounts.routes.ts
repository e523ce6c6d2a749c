import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../../errors.js';
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
  PasswordResetAcceptedSchema,
  PasswordResetConfirmSchema,
  PasswordResetRequestSchema,
  RefreshBodySchema,
  RegisterBodySchema,
  TokensSchema,
  UserSchema,
} from './accounts.schema.js';

/** Wrong current passwords allowed per account in WRONG_PASSWORD_WINDOW on PATCH /me, then 429. */
export const WRONG_PASSWORD_LIMIT = 5;
export const WRONG_PASSWORD_WINDOW = '15 minutes';

const accountsRoutes: FastifyPluginAsyncTypebox<{ authRateLimit: number }> = async (app, opts) => {
  const { auth, profiles, admin, reset } = app.accounts;
  // One budget per address for every route that takes credentials or sends a message to an account, so
  // trying passwords through sign-in, registration, refresh and reset all counts together.
  const authBudget = app.rateLimit({
    max: opts.authRateLimit,
    timeWindow: '1 minute',
    keyGenerator: (request) => `auth:${addressKey(request)}`,
  });
  const wrongPasswords = app.createRateLimit({
    max: WRONG_PASSWORD_LIMIT,
    timeWindow: WRONG_PASSWORD_WINDOW,
    keyGenerator: (request) => `pw:u:${principalOf(request).id}`,
  });
  const security = [{ bearer: [] }];

  app.post(
    '/auth/register',
    {
      onRequest: authBudget,
      schema: {
        tags: ['auth'],
        summary: 'Register a patient or a doctor (doctors start unverified)',
        description:
          'An e-mail that already has an account is answered the same way (201, same shape), with tokens ' +
          'that open nothing; the owner is told by e-mail instead.',
        body: RegisterBodySchema,
        response: { 201: TokensSchema, ...errors(409, 429) },
      },
    },
    async (request, reply) => reply.status(201).send(await auth.register(request.body)),
  );

  app.post(
    '/auth/login',
    {
      onRequest: authBudget,
      schema: { tags: ['auth'], body: LoginBodySchema, response: { 200: TokensSchema, ...errors(401, 429) } },
    },
    async (request) => auth.login(request.body.email, request.body.password),
  );

  app.post(
    '/auth/refresh',
    {
      onRequest: authBudget,
      schema: {
        tags: ['auth'],
        summary: 'Rotate a refresh token; presenting a used one revokes its whole family',
        body: RefreshBodySchema,
        response: { 200: TokensSchema, ...errors(401, 429) },
      },
    },
    async (request) => auth.refresh(request.body.refreshToken),
  );

  app.post(
    '/auth/password-reset',
    {
      onRequest: authBudget,
      schema: {
        tags: ['auth'],
        summary:
          'Send a reset link (e-mail) or a 6-digit code (SMS); the same answer whether or not the account exists',
        body: PasswordResetRequestSchema,
        response: { 202: PasswordResetAcceptedSchema, ...errors(429) },
      },
    },
    async (request, reply) => {
      await reset.request(request.body);
      return reply.status(202).send({
        message: 'If an account matches, a reset link or code is on its way.',
      });
    },
  );

  app.post(
    '/auth/password-reset/confirm',
    {
      onRequest: authBudget,
      schema: {
        tags: ['auth'],
        summary:
          'Set a new password with a reset link token, or a phone number and its code; signs out everywhere',
        body: PasswordResetConfirmSchema,
        response: { 204: Type.Null(), ...errors(429) },
      },
    },
    async (request, reply) => {
      await reset.confirm(request.body);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/logout',
    {
      config: {
        rateLimit: { max: opts.authRateLimit, timeWindow: '1 minute', keyGenerator: addressKey },
      },
      schema: { tags: ['auth'], body: RefreshBodySchema, response: { 204: Type.Null(), ...errors(429) } },
    },
    async (request, reply) => {
      await auth.logout(request.body.refreshToken);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/me',
    {
      preHandler: requireRole(),
      schema: { tags: ['me'], security, response: { 200: UserSchema, ...errors(401) } },
    },
    async (request) => profiles.me(principalOf(request).id),
  );

  app.patch(
    '/me',
    {
      preHandler: requireRole(),
      schema: {
        tags: ['me'],
        security,
        body: MeUpdateSchema,
        response: { 200: UserSchema, ...errors(401, 403, 429) },
      },
    },
    async (request, reply) => {
      // A wrong current password is a guess at it: counted per account, like sign-in per address.
      if (request.body.password === undefined)
        return profiles.updateMe(principalOf(request).id, request.body);
      const budget = await wrongPasswords(request, { increment: false });
      if (!budget.isAllowed && budget.remaining <= 0) {
        reply.header('retry-after', budget.ttlInSeconds);
        throw new AppError(
          'RATE_LIMITED',
          `Too many wrong passwords; try again in ${budget.ttlInSeconds} s`,
          {
            retryAfterSeconds: budget.ttlInSeconds,
          },
        );
      }
      try {
        return await profiles.updateMe(principalOf(request).id, request.body);
      } catch (err) {
        if (err instanceof AppError && err.code === 'FORBIDDEN') await wrongPasswords(request);
        throw err;
      }
    },
  );

  app.get(
    '/me/dependents',
    {
      preHandler: requireRole('patient'),
      schema: { tags: ['me'], security, response: { 200: Page(DependentSchema), ...errors(401, 403) } },
    },
    async (request) => ({ items: await profiles.listDependents(principalOf(request).id), nextCursor: null }),
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
      reply.status(201).send(await profiles.addDependent(principalOf(request).id, request.body)),
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
    async (request) => profiles.updateDependent(principalOf(request).id, request.params.id, request.body),
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
      await profiles.removeDependent(principalOf(request).id, request.params.id);
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
    async (request) => admin.listUsers(request.query),
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
      return reply.status(201).send(await admin.createUser(actor, request.body));
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
      return admin.updateUser(actor, request.params.id, request.body);
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
    async (request) => admin.listAudit(request.query),
  );
};

export default accountsRoutes;
