// Access tokens (JWT) and the per-route role check. Each authenticated request re-reads the account, so a
// disabled user or a changed role takes effect at once rather than when the token expires.
import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { findPrincipal } from '../modules/accounts/accounts.repository.js';
import type { Role } from '../modules/accounts/accounts.table.js';

export const ACCESS_TOKEN_SECONDS = 15 * 60;

export interface Principal {
  id: string;
  role: Role;
  name: string;
  hospitalId: string | null;
  doctorId: string | null;
  profileId: string | null;
}

interface AccessClaims {
  sub: string;
  role: Role;
  typ: 'access';
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessClaims;
    user: AccessClaims;
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    signAccessToken(user: { id: string; role: Role }): string;
    /** Resolves an access token to the live account; throws UNAUTHENTICATED when it cannot. */
    principalFromToken(token: string): Promise<Principal>;
    /** As principalFromToken, with the instant (ms since the epoch) the token expires. */
    accessFromToken(token: string): Promise<{ principal: Principal; expiresAt: number }>;
    /** The live account by id, or null when it no longer exists or is disabled (open sockets re-check with it). */
    principalById(id: string): Promise<Principal | null>;
  }
}

async function authPlugin(app: FastifyInstance, opts: { secret: string }): Promise<void> {
  await app.register(fastifyJwt, { secret: opts.secret, sign: { expiresIn: ACCESS_TOKEN_SECONDS } });
  app.decorateRequest('principal', null);
  app.decorate('signAccessToken', (user: { id: string; role: Role }) =>
    app.jwt.sign({ sub: user.id, role: user.role, typ: 'access' }),
  );
  const principalById = async (id: string): Promise<Principal | null> => {
    const principal = await findPrincipal(app.db, id);
    if (!principal || principal.disabled) return null;
    const { disabled: _, ...live } = principal;
    return live;
  };
  const accessFromToken = async (token: string) => {
    let claims: AccessClaims & { exp: number };
    try {
      claims = app.jwt.verify<AccessClaims & { exp: number }>(token);
    } catch (err) {
      // app.jwt.verify throws fast-jwt's own TokenError (FAST_JWT_EXPIRED), not @fastify/jwt's wrapper.
      const code = (err as { code?: string }).code;
      const expired = code === 'FAST_JWT_EXPIRED' || code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED';
      throw new AppError('UNAUTHENTICATED', expired ? 'Access token expired' : 'Access token invalid', {
        reason: expired ? 'expired' : 'invalid',
      });
    }
    if (claims.typ !== 'access')
      throw new AppError('UNAUTHENTICATED', 'Access token invalid', { reason: 'invalid' });
    const principal = await findPrincipal(app.db, claims.sub);
    if (!principal) throw new AppError('UNAUTHENTICATED', 'Account no longer exists', { reason: 'unknown' });
    if (principal.disabled) throw new AppError('UNAUTHENTICATED', 'Account disabled', { reason: 'disabled' });
    const { disabled: _, ...live } = principal;
    return { principal: live, expiresAt: claims.exp * 1000 };
  };
  app.decorate('accessFromToken', accessFromToken);
  app.decorate('principalFromToken', async (token: string) => (await accessFromToken(token)).principal);
  app.decorate('principalById', principalById);
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new AppError('UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"');
  return match[1];
}

/** preHandler: the caller must be signed in, with one of `roles` when any are given. */
export function requireRole(...roles: Role[]): preHandlerAsyncHookHandler {
  return async function requireRoleHook(request) {
    const token = bearer(request);
    if (!token) throw new AppError('UNAUTHENTICATED', 'Sign in first');
    request.principal = await request.server.principalFromToken(token);
    if (roles.length > 0 && !roles.includes(request.principal.role)) {
      throw new AppError('FORBIDDEN', `This needs one of the roles: ${roles.join(', ')}`);
    }
  };
}

/** preHandler for routes open to guests that show more to signed-in users. A bad token is still refused. */
export const identify: preHandlerAsyncHookHandler = async function identifyHook(request) {
  const token = bearer(request);
  if (token) request.principal = await request.server.principalFromToken(token);
};

/** The signed-in principal of a route guarded by requireRole. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHENTICATED', 'Sign in first');
  return request.principal;
}

export default fp(authPlugin, { name: 'auth', dependencies: ['db'] });
