import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bodyOf, type Logger, routeAuth } from '../common/index.ts';
import { MqfedError, parseWith, type ServiceRole, serviceIdSchema } from '../protocol/index.ts';
import { type CallerAuth, READER_ROLES } from './caller-auth.ts';
import type { DiscoveryMetrics, SessionClaimOutcome } from './discovery-metrics.ts';
import type { SessionDirectory } from './session-directory.ts';
import { clientIdSchema, maxRestoreIds } from './session-wire.ts';

export interface SessionRoutesContext {
  sessions: SessionDirectory;
  auth: CallerAuth;
  metrics: DiscoveryMetrics;
  logger: Logger;
  /** Where a live broker's peer API is, so a taker can call the previous holder at once. */
  linkUrlOf(brokerId: string): string | undefined;
}

const clientIdParamsSchema = z.object({ clientId: clientIdSchema });
const brokerParamsSchema = z.object({ id: serviceIdSchema });
// [design] Bodies are strict: a field this service does not know is a client bug to surface, not
// to ignore, since a broker that believes it sent an option would act on a wrong belief.
const claimBodySchema = z.strictObject({});
const restoreBodySchema = z.strictObject({
  clientIds: z.array(clientIdSchema).max(maxRestoreIds),
});
const releaseQuerySchema = z.strictObject({
  epoch: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, 'expected a non-negative integer')
    .transform(Number)
    .refine(Number.isSafeInteger, 'expected a safe integer')
    .optional(),
});

/**
 * The session directory's HTTP API (docs/protocol.md, Sessions). A broker claims and releases
 * only for itself: the holder is always the caller's token `sub`, never a field of the request.
 */
export function registerSessionRoutes(app: FastifyInstance, context: SessionRoutesContext): void {
  const { sessions, auth, metrics, logger, linkUrlOf } = context;
  // As for the broker routes: authentication runs before the body is parsed.
  const callers = routeAuth((request, roles: ServiceRole | readonly ServiceRole[]) =>
    auth.authenticate(request.headers, roles),
  );
  const onlyFor = callers.only;
  const callerOf = callers.callerOf;
  const count = (outcome: SessionClaimOutcome, n = 1) => {
    if (n > 0) metrics.sessionClaims.inc({ outcome }, n);
  };
  /** Runs a claim or a restore, counting a refusal by a cap before passing it on. */
  const counted = <T>(run: () => T): T => {
    try {
      return run();
    } catch (error) {
      if (error instanceof MqfedError && error.code === 'SESSION_LIMIT_EXCEEDED') count('refused');
      throw error;
    }
  };

  app.put('/sessions/:clientId', onlyFor('broker'), async (request) => {
    const { sub } = callerOf(request);
    const { clientId } = parseWith(clientIdParamsSchema, request.params);
    bodyOf(request, claimBodySchema);
    const { entry, previous, outcome } = counted(() => sessions.claim(clientId, sub));
    count(outcome);
    // Client ids are not logged at info: they may name people or devices. [design]
    logger.debug({ holder: sub, epoch: entry.epoch, outcome, from: previous?.holder }, 'claimed');
    return {
      clientId,
      holder: entry.holder,
      epoch: entry.epoch,
      previous:
        previous === undefined
          ? null
          : {
              holder: previous.holder,
              epoch: previous.epoch,
              ...optionalLinkUrl(linkUrlOf(previous.holder)),
            },
    };
  });

  app.get('/sessions/:clientId', onlyFor(READER_ROLES), async (request) => {
    const { clientId } = parseWith(clientIdParamsSchema, request.params);
    const entry = sessions.lookup(clientId);
    if (entry === undefined) throw new MqfedError('SESSION_NOT_FOUND');
    return { clientId, holder: entry.holder, epoch: entry.epoch, since: entry.since };
  });

  app.delete('/sessions/:clientId', onlyFor('broker'), async (request, reply) => {
    const { sub } = callerOf(request);
    const { clientId } = parseWith(clientIdParamsSchema, request.params);
    const { epoch } = parseWith(releaseQuerySchema, request.query);
    sessions.release(clientId, sub, epoch);
    logger.debug({ holder: sub, epoch }, 'session released');
    return reply.status(204).send();
  });

  app.put('/brokers/:id/sessions', onlyFor('broker'), async (request) => {
    const caller = callerOf(request);
    const { id } = parseWith(brokerParamsSchema, request.params);
    auth.requireIdentity(caller, id);
    const { clientIds } = bodyOf(request, restoreBodySchema);
    const result = counted(() => sessions.restore(id, clientIds));
    count('new', result.claimed);
    logger.info(
      { id, listed: clientIds.length, claimed: result.claimed, held: result.heldElsewhere.length },
      'sessions restored',
    );
    return { claimed: result.claimed, heldElsewhere: result.heldElsewhere };
  });
}

const optionalLinkUrl = (linkUrl: string | undefined) => (linkUrl === undefined ? {} : { linkUrl });
