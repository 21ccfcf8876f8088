import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { z } from 'zod';
import { type ErrorCode, MqfedError, parseWith } from '../protocol/index.ts';
import type { Logger } from './logger.ts';

export interface HttpAppOptions {
  logger: Logger;
  metrics: Registry;
  /** Largest accepted request body in bytes. */
  bodyLimit: number;
}

/**
 * Fastify's own failures (bad JSON, oversized body, ...) carry FST_* codes. They are mapped onto
 * our catalogue so that every 4xx answer has the same `{ code, message }` shape. [design]
 */
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BODY_MISSING',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_BAD_URL: 'INVALID_REQUEST',
  FST_ERR_MAX_PARAM_LENGTH: 'INVALID_REQUEST',
};

/** Longest path parameter routed: service ids may be 128 characters (serviceIdSchema). */
const maxParamLength = 256;

function classify(error: unknown): MqfedError {
  if (error instanceof MqfedError) return error;
  const { code, statusCode, message } = error as {
    code?: string;
    statusCode?: number;
    message?: string;
  };
  const mapped = code === undefined ? undefined : fastifyCodes[code];
  if (mapped !== undefined) return new MqfedError(mapped);
  if (error instanceof SyntaxError) return new MqfedError('MALFORMED_JSON');
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return new MqfedError('INVALID_REQUEST', message);
  }
  return new MqfedError('INTERNAL', undefined, error);
}

/**
 * An HTTP app with the error contract, `/healthz` and `/metrics` already in place. Services add
 * their routes to it and call `listenOn`.
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  const failures = new Counter({
    name: 'mqfed_http_errors_total',
    help: 'HTTP requests answered with an error, by stable error code',
    labelNames: ['code', 'route'] as const,
    registers: [options.metrics],
  });
  const refuse = (error: unknown, request: FastifyRequest, reply: FastifyReply): void => {
    const failure = classify(error);
    const route = request.routeOptions.url ?? 'unknown';
    failures.inc({ code: failure.code, route });
    if (failure.httpStatus >= 500) {
      options.logger.error({ err: error, route, code: failure.code }, 'request failed');
    } else {
      options.logger.warn(
        { route, code: failure.code, ip: request.ip, reason: failure.message },
        'request refused',
      );
    }
    void reply.status(failure.httpStatus).send(failure.toBody());
  };

  const app = Fastify({
    bodyLimit: options.bodyLimit,
    // Keep-alive sockets would otherwise hold close() open.
    forceCloseConnections: true,
    return503OnClosing: true,
    logger: false,
    routerOptions: { maxParamLength },
    // Router failures (a malformed %-escape, an over-long parameter) bypass the error handler.
    frameworkErrors: refuse,
  });
  // JSON only: fastify would otherwise hand a text/plain body to handlers as a string. [design]
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(refuse);
  app.setNotFoundHandler((request, reply) => {
    const failure = new MqfedError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url}`);
    failures.inc({ code: failure.code, route: 'unknown' });
    void reply.status(failure.httpStatus).send(failure.toBody());
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    void reply.type(options.metrics.contentType);
    return options.metrics.metrics();
  });
  return app;
}

/** Starts listening and returns the base URL (port 0 picks a free port). */
export async function listenOn(app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    throw new MqfedError('INTERNAL', 'server has no TCP address');
  }
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shownHost}:${address.port}`;
}

/** The request body, validated: BODY_MISSING when there is none, INVALID_REQUEST naming the field. */
export function bodyOf<T extends z.ZodType>(request: FastifyRequest, schema: T): z.output<T> {
  if (request.body === undefined || request.body === null || request.body === '') {
    throw new MqfedError('BODY_MISSING');
  }
  return parseWith(schema, request.body);
}

/** The bearer token of an `Authorization: Bearer <token>` header, or TOKEN_MISSING. */
export function bearerTokenOf(headers: { authorization?: string | undefined }): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (match?.[1] === undefined) throw new MqfedError('TOKEN_MISSING');
  return match[1];
}
