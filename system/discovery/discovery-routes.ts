import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { bodyOf, type Logger, routeAuth } from '../common/index.ts';
import { MqfedError, parseWith, serviceIdSchema, topicFilterSchema } from '../protocol/index.ts';
import type { BrokerDirectory } from './broker-directory.ts';
import { type CallerAuth, READER_ROLES } from './caller-auth.ts';
import type { DiscoveryMetrics } from './discovery-metrics.ts';
import type { ResolvedDiscoveryServiceOptions } from './discovery-service-options.ts';
import { WATCH_PATH } from './watch-frames.ts';

export interface DiscoveryRoutesContext {
  directory: BrokerDirectory;
  auth: CallerAuth;
  metrics: DiscoveryMetrics;
  logger: Logger;
  config: ResolvedDiscoveryServiceOptions;
}

/** A peer-link URL: where other broker services open their WebSocket to this one. */
const linkUrlSchema = z
  .string()
  .max(2048)
  .refine((value) => URL.canParse(value) && /^wss?:\/\/[^/?#]/.test(value), {
    message: 'expected a ws:// or wss:// URL',
  });

// No length cap here: the body limit bounds the work, and the directory answers an oversized
// set with TOPIC_LIMIT_EXCEEDED, which says more than a schema error would. [design]
const topicListSchema = z.array(topicFilterSchema);

const idParamsSchema = z.object({ id: serviceIdSchema });
const lookupQuerySchema = z.object({ filter: topicFilterSchema.optional() });
const advertiseBodySchema = z.object({
  add: topicListSchema.optional(),
  remove: topicListSchema.optional(),
});

/** The HTTP API of the discovery service (docs/protocol.md, Discovery service). */
export function registerDiscoveryRoutes(app: FastifyInstance, context: DiscoveryRoutesContext) {
  const { directory, auth, metrics, logger, config } = context;
  const registerBodySchema = z.object({
    linkUrl: linkUrlSchema,
    ttlMs: z.number().int().min(config.minLeaseTtlMs).optional(),
    topics: topicListSchema.optional(),
    interest: topicListSchema.optional(),
  });
  // Authentication runs before the body is parsed: an anonymous caller costs no JSON parsing.
  const callers = routeAuth((request, roles: typeof READER_ROLES | 'broker') =>
    auth.authenticate(request.headers, roles),
  );
  const onlyFor = callers.only;
  const claimsOf = callers.callerOf;
  /** The broker the path names, which must be the caller itself. */
  const ownBroker = (request: FastifyRequest) => {
    const caller = claimsOf(request);
    const { id } = parseWith(idParamsSchema, request.params);
    auth.requireIdentity(caller, id);
    return { caller, id };
  };

  app.put('/brokers/:id', onlyFor('broker'), async (request, reply) => {
    const { caller, id } = ownBroker(request);
    const body = bodyOf(request, registerBodySchema);
    const topics = body.topics ?? [];
    const interest = body.interest ?? [];
    auth.requirePubScope(caller, topics);
    auth.requireSubScope(caller, interest);
    const leaseTtlMs = Math.min(body.ttlMs ?? config.defaultLeaseTtlMs, config.maxLeaseTtlMs);
    const { broker, replaced } = directory.register({
      id,
      linkUrl: body.linkUrl,
      ttlMs: leaseTtlMs,
      topics,
      interest,
    });
    metrics.registrations.inc({ outcome: replaced ? 'replaced' : 'new' });
    logger.info({ id, linkUrl: broker.linkUrl, leaseTtlMs, replaced }, 'broker registered');
    void reply.status(replaced ? 200 : 201);
    return { ...broker, leaseTtlMs, replaced };
  });

  app.post('/brokers/:id/lease', onlyFor('broker'), async (request) => {
    const { id } = ownBroker(request);
    const { leaseExpiresAt } = directory.renew(id);
    return { id, leaseExpiresAt };
  });

  app.delete('/brokers/:id', onlyFor('broker'), async (request) => {
    const { id } = ownBroker(request);
    directory.deregister(id);
    metrics.deregistrations.inc();
    logger.info({ id }, 'broker deregistered');
    return { id, deregistered: true };
  });

  app.patch('/brokers/:id/topics', onlyFor('broker'), async (request) => {
    const { caller, id } = ownBroker(request);
    const delta = bodyOf(request, advertiseBodySchema);
    // Withdrawing needs no scope: a broker may always stop claiming data, even after its
    // scope shrank. [design]
    auth.requirePubScope(caller, delta.add ?? []);
    const broker = directory.advertise(id, delta);
    metrics.advertisements.inc();
    logger.debug(
      { id, add: delta.add?.length ?? 0, remove: delta.remove?.length ?? 0 },
      'advertised',
    );
    return { id, topics: broker.topics };
  });

  app.patch('/brokers/:id/interest', onlyFor('broker'), async (request) => {
    const { caller, id } = ownBroker(request);
    const delta = bodyOf(request, advertiseBodySchema);
    // As for topics: dropping interest needs no scope.
    auth.requireSubScope(caller, delta.add ?? []);
    const broker = directory.advertiseInterest(id, delta);
    metrics.interestAdvertisements.inc();
    logger.debug(
      { id, add: delta.add?.length ?? 0, remove: delta.remove?.length ?? 0 },
      'interest advertised',
    );
    return { id, interest: broker.interest };
  });

  app.get('/brokers', onlyFor(READER_ROLES), async (request) => {
    const { filter } = parseWith(lookupQuerySchema, request.query);
    return { brokers: filter === undefined ? directory.list() : directory.lookup(filter) };
  });

  // A plain GET of the watch path reached fastify, so it came without an upgrade.
  app.get(WATCH_PATH, async () => {
    throw new MqfedError('INVALID_REQUEST', `${WATCH_PATH} needs a WebSocket upgrade`);
  });
}
