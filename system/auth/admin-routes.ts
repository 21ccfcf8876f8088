import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { bearerTokenOf, bodyOf, type Logger } from '../common/index.ts';
import {
  MqfedError,
  parseWith,
  serviceIdSchema,
  serviceRoles,
  topicFilterSchema,
} from '../protocol/index.ts';
import { type AuthMetrics, outcomeOf } from './auth-metrics.ts';
import type { RevocationList } from './revocation-list.ts';
import { constantTimeEqual } from './secret-hash.ts';
import type { ServiceRegistry } from './service-registry.ts';
import type { SigningKeyRing } from './signing-keys.ts';

// [design] strict: a misspelt field (`topic` for `topics`) must not silently grant no scopes.
const registerBodySchema = z.strictObject({
  id: serviceIdSchema.optional(),
  role: z.enum(serviceRoles),
  topics: z
    .strictObject({
      pub: z.array(topicFilterSchema).max(1024).default([]),
      sub: z.array(topicFilterSchema).max(1024).default([]),
    })
    .default({ pub: [], sub: [] }),
});

const idParamsSchema = z.object({ id: serviceIdSchema });

const revokeTokenBodySchema = z.strictObject({
  jti: z.string().min(1).max(256),
  /** The token's `exp` (epoch seconds), when known: the entry is dropped once it passed. */
  exp: z.number().int().positive().optional(),
});

export interface AdminRoutesOptions {
  adminCredential: string;
  registry: ServiceRegistry;
  keys: SigningKeyRing;
  revocations: RevocationList;
  metrics: AuthMetrics;
  logger: Logger;
}

/**
 * The operator's API under `/admin`. The admin credential is checked when a request arrives,
 * before its body is even parsed, so nothing is learnt or spent without it. [design]
 */
export function registerAdminRoutes(app: FastifyInstance, options: AdminRoutesOptions): void {
  const { registry, keys, revocations, metrics, logger } = options;

  void app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request) => checkAdminCredential(request, options));
      admin.addHook('onResponse', async (request, reply) => countAdmin(request, reply, metrics));

      admin.post('/services', async (request, reply) => {
        const body = bodyOf(request, registerBodySchema);
        const created = await registry.register(body);
        // An id revoked this very second: its new tokens must not fall under that revocation.
        await revocations.settled(created.id);
        logger.info({ id: created.id, role: body.role }, 'service registered');
        return reply.status(201).send(created);
      });
      admin.get('/services', async () => ({ services: registry.list() }));
      admin.post('/services/:id/secret', async (request) => {
        const { id } = parseWith(idParamsSchema, request.params);
        const rotated = await registry.rotateSecret(id);
        // [design] Tokens issued with the old secret stop at once, everywhere (pushed to every
        // verifier by the revocation feed); the new secret is handed out once tokens it yields
        // are dated after the revocation, at most a second later.
        revocations.revokeSubject(id, 'secret-rotated');
        await revocations.settled(id);
        logger.info({ id }, 'service secret rotated');
        return rotated;
      });
      admin.delete('/services/:id', async (request) => {
        const { id } = parseWith(idParamsSchema, request.params);
        registry.revoke(id);
        revocations.revokeSubject(id, 'revoked');
        logger.info({ id }, 'service revoked');
        return { id, revoked: true };
      });
      admin.post('/revocations', async (request, reply) => {
        const { jti, exp } = bodyOf(request, revokeTokenBodySchema);
        const entry = revocations.revokeToken(jti, exp);
        logger.info({ jti, seq: entry.seq }, 'token revoked');
        return reply.status(201).send(entry);
      });
      admin.get('/revocations', async () => ({ entries: revocations.entries() }));
      admin.post('/keys/rotate', async () => {
        const kid = await keys.rotate();
        metrics.keyRotations.inc();
        logger.info({ kid }, 'signing key rotated');
        return { kid };
      });
    },
    { prefix: '/admin' },
  );
}

async function checkAdminCredential(request: FastifyRequest, options: AdminRoutesOptions) {
  let presented: string | undefined;
  try {
    presented = bearerTokenOf(request.headers);
  } catch {
    // No bearer token: refused below with the admin code rather than TOKEN_MISSING.
  }
  if (presented !== undefined && constantTimeEqual(presented, options.adminCredential)) return;
  options.logger.warn(
    { ip: request.ip, route: request.routeOptions.url, presented: presented !== undefined },
    'admin request with a missing or wrong admin credential',
  );
  throw new MqfedError('ADMIN_CREDENTIAL_INVALID');
}

function countAdmin(request: FastifyRequest, reply: FastifyReply, metrics: AuthMetrics) {
  const action = `${request.method} ${request.routeOptions.url ?? 'unknown'}`;
  metrics.adminRequests.inc({ action, outcome: outcomeOf(reply.statusCode) });
}
