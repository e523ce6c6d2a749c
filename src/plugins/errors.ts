// The one error handler: every failure leaves as { statusCode, code, error, message, details? }, including the
// router's own refusals (frameworkErrors) and those Node's HTTP parser makes before Fastify sees a request
// (clientErrorHandler).
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError, ERROR_STATUS, type ErrorCode } from '../errors.js';

const STATUS_CODE: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'DATE_NOT_BOOKABLE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
  503: 'UNAVAILABLE',
};

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
  '53300',
  '3D000',
]);

/** Database errors that bad input can still reach past the schemas; never answered as 500. */
const PG_INPUT_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  '22P02': { code: 'VALIDATION_FAILED', message: 'A value has the wrong format' },
  '22001': { code: 'VALIDATION_FAILED', message: 'A value is too long' },
  '22003': { code: 'VALIDATION_FAILED', message: 'A number is out of range' },
  '22007': { code: 'VALIDATION_FAILED', message: 'A date or time is invalid' },
  '22008': { code: 'VALIDATION_FAILED', message: 'A date or time is out of range' },
  '23514': { code: 'VALIDATION_FAILED', message: 'A value breaks a rule' },
  '23505': { code: 'CONFLICT', message: 'That already exists' },
  '23503': { code: 'CONFLICT', message: 'A referenced record does not exist or is still in use' },
};

export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  error: string;
  message: string;
  details?: unknown;
}

const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function errorBody(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  const statusCode = ERROR_STATUS[code];
  return {
    statusCode,
    code,
    error: REASON[statusCode] ?? 'Error',
    message,
    ...(details === undefined ? {} : { details }),
  };
}

/** ioredis's own errors for a server, or a cluster's slots, that cannot be reached. */
const REDIS_UNAVAILABLE = new Set([
  'MaxRetriesPerRequestError',
  'ClusterAllFailedError',
  'RedisTransactionAborted',
]);

export function isConnectionError(err: unknown): boolean {
  if (isUnavailable(err)) return true;
  // A MULTI whose queued commands a cluster refused fails as EXECABORT, carrying their errors: CLUSTERDOWN, or
  // MOVED when ioredis sent it to another node because the slot's master is unreachable.
  const previous = (err as { previousErrors?: unknown } | null)?.previousErrors;
  return (
    Array.isArray(previous) &&
    previous.some((p) => isUnavailable(p) || /^(MOVED|ASK) /.test(String((p as Error | null)?.message)))
  );
}

function isUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string' && CONNECTION_ERRORS.has(e.code)) return true;
  if (REDIS_UNAVAILABLE.has((err as Error).name)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return /Connection terminated|connect ECONNREFUSED|Connection is closed|timeout exceeded when trying to connect|^CLUSTERDOWN|^TRYAGAIN|Too many Cluster redirections|None of startup nodes is available|Cluster isn't ready/i.test(
    message,
  );
}

type ValidationItem = NonNullable<FastifyError['validation']>[number];

function fieldOf(item: ValidationItem, context: string | undefined): string {
  const params = item.params as { missingProperty?: string; additionalProperty?: string };
  const path = item.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const leaf = params.missingProperty ?? params.additionalProperty;
  return [context, path, leaf].filter(Boolean).join('.');
}

function toBody(err: FastifyError | AppError | Error): ErrorBody {
  if (err instanceof AppError) return errorBody(err.code, err.message, err.details);
  const fe = err as FastifyError;
  if (fe.validation) {
    const details = fe.validation.map((item) => {
      const params = item.params as { additionalProperty?: string };
      const field = fieldOf(item, fe.validationContext);
      const message = params.additionalProperty ? 'is not allowed' : (item.message ?? 'is invalid');
      return { field, message };
    });
    const first = details[0];
    return errorBody(
      'VALIDATION_FAILED',
      first ? `${first.field} ${first.message}` : 'Invalid request',
      details,
    );
  }
  if (typeof fe.code === 'string' && PG_INPUT_ERRORS[fe.code]) {
    const mapped = PG_INPUT_ERRORS[fe.code];
    return errorBody(mapped.code, mapped.message);
  }
  if (isConnectionError(err))
    return errorBody('UNAVAILABLE', 'A backing service is unavailable; try again shortly');
  const status = fe.statusCode;
  if (status && status >= 400 && status < 500) {
    const code = STATUS_CODE[status] ?? 'VALIDATION_FAILED';
    const message =
      code === 'VALIDATION_FAILED' ? (fe.message ?? 'Bad request') : fe.message || REASON[status];
    return { ...errorBody(code, message), statusCode: status, error: REASON[status] ?? 'Error' };
  }
  return errorBody('INTERNAL', 'Something went wrong on our side; it has been logged');
}

/** Longest path parameter the router accepts (ids are 36 characters, tracking tokens at most 128). */
export const MAX_PARAM_LENGTH = 256;

/**
 * Fastify's `frameworkErrors` option: the router's refusals, which otherwise answer their own `FST_ERR_*`
 * bodies. Their messages would echo the path back (a tracking token, say), so each gets a fixed one.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  let body: ErrorBody;
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    body = errorBody('URI_TOO_LONG', `A path segment is longer than ${MAX_PARAM_LENGTH} characters`);
  } else if (err.code === 'FST_ERR_BAD_URL') {
    body = errorBody('VALIDATION_FAILED', 'The URL is not validly percent-encoded');
  } else {
    body = toBody(err);
  }
  reply.status(body.statusCode).send(body);
}

/** What Node's HTTP parser refused, before any request exists: too large headers (or URL), timeouts, garbage. */
function clientErrorBody(err: NodeJS.ErrnoException): ErrorBody {
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return errorBody('HEADERS_TOO_LARGE', 'The request line and headers are too large');
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return errorBody('REQUEST_TIMEOUT', 'The request took too long to arrive');
  return errorBody('VALIDATION_FAILED', 'The request is not valid HTTP');
}

/** Fastify's `clientErrorHandler` option; as Fastify's default, but answering the documented shape. */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  this.log.debug({ code: err.code }, 'client error');
  const body = clientErrorBody(err);
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${body.statusCode} ${body.error}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`,
    );
  }
  socket.destroy(err);
}

async function errorsPlugin(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const body = toBody(err);
    if (body.statusCode >= 500) request.log.error({ err }, 'request failed');
    if (body.code === 'RATE_LIMITED' && !reply.hasHeader('retry-after')) reply.header('retry-after', '60');
    return reply.status(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
  });
}

export default fp(errorsPlugin, { name: 'errors' });
