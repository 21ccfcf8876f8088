import type { Server as HttpServer } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { type ErrorCode, MqfedError, parseWith } from '../protocol/index.ts';
import type { Logger } from './logger.ts';
import type { TlsConfig } from './tls-config.ts';

export interface HttpAppOptions {
  logger: Logger;
  metrics: Registry;
  /** Largest accepted request body in bytes. */
  bodyLimit: number;
  /** Serve HTTPS (and so WSS for the WebSocket servers riding on it) with this identity. */
  tls?: Pick<TlsConfig, 'cert' | 'key'> | undefined;
  /** How long a client may take over a request; `httpTimeoutDefaults` fills what is missing. */
  timeouts?: HttpTimeoutsOption | undefined;
}

/** The time limits of every HTTP server of mqfed. */
export interface HttpTimeouts {
  /** From the connection (or the previous request) to the end of the request headers. */
  headersMs: number;
  /** From the connection (or the previous request) to the end of the request body. */
  requestMs: number;
  /** How long an idle keep-alive connection is kept open between requests. */
  keepAliveMs: number;
}

/**
 * [design] A slow client (a byte a second, "slow loris") is cut off when its headers or its whole
 * request are late, not held for as long as it keeps trickling. The bodies of mqfed are at most
 * a megabyte and its clients are services on a network, so ten seconds for the headers and thirty
 * for the whole request leave a wide margin.
 */
export const httpTimeoutDefaults: Readonly<HttpTimeouts> = Object.freeze({
  headersMs: 10_000,
  requestMs: 30_000,
  // [design] Longer than a broker's lease renewal (a third of its 15 s lease) plus the 2 s a
  // fetch client takes off the server's announced keep-alive: each renewal then reuses its
  // connection. At 5 s every renewal paid a new connection, 200 a second at discovery for 1,000
  // brokers; an idle connection costs a few KiB, and a client can hold one anyway by asking.
  keepAliveMs: 20_000,
});

/** A service's `httpTimeouts` option: any of the timeouts, the others from the defaults. */
export type HttpTimeoutsOption = { [K in keyof HttpTimeouts]?: number | undefined };

/** The schema of a service's `httpTimeouts` option; each service resolves it with its others. */
export const httpTimeoutsSchema = z
  .object({
    headersMs: z.number().int().min(100),
    requestMs: z.number().int().min(100),
    keepAliveMs: z.number().int().min(100),
  })
  .partial();

/**
 * The node server options for these timeouts, for `http.createServer` or `https.createServer`
 * (createHttpApp uses them; a server made elsewhere should too). Node checks the header and
 * request deadlines only every `connectionsCheckingInterval` (30 s by default), so a deadline
 * would be late by up to that much: the interval is set at creation, a quarter of the shortest
 * deadline, within 50 ms to 1 s.
 */
export function httpServerTimeouts(timeouts: HttpTimeouts = httpTimeoutDefaults) {
  const shortest = Math.min(timeouts.headersMs, timeouts.requestMs);
  return {
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(shortest / 4))),
  };
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

  /**
   * Failures node finds before there is a request to route (a late or unparsable request): the
   * same JSON error contract, counted, and the connection closed, as node would. [design]
   */
  const refuseClient = (error: Error & { code?: string }, socket: Duplex): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const failure =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new MqfedError('REQUEST_TIMEOUT')
        : new MqfedError('INVALID_REQUEST', 'the request could not be parsed');
    failures.inc({ code: failure.code, route: 'unknown' });
    if (socket.writable) {
      const body = JSON.stringify(failure.toBody());
      const status = failure.httpStatus;
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n` +
          `Content-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };

  const timeouts = httpServerTimeouts({
    headersMs: options.timeouts?.headersMs ?? httpTimeoutDefaults.headersMs,
    requestMs: options.timeouts?.requestMs ?? httpTimeoutDefaults.requestMs,
    keepAliveMs: options.timeouts?.keepAliveMs ?? httpTimeoutDefaults.keepAliveMs,
  });
  const app = Fastify({
    // Passed to the node server at creation: the checking interval cannot be changed later.
    http: timeouts,
    ...(options.tls === undefined
      ? {}
      : { https: { ...timeouts, cert: options.tls.cert, key: options.tls.key } }),
    requestTimeout: timeouts.requestTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    clientErrorHandler: refuseClient,
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
  // [design] Routes and WebSocket upgrades are the same over HTTPS; the rest of mqfed handles the
  // server as the HTTP server it also is.
  return app as unknown as FastifyInstance;
}

/** Starts listening and returns the base URL, https:// over TLS (port 0 picks a free port). */
export async function listenOn(app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    throw new MqfedError('INTERNAL', 'server has no TCP address');
  }
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const scheme = 'setSecureContext' in (app.server as HttpServer) ? 'https' : 'http';
  return `${scheme}://${shownHost}:${address.port}`;
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
