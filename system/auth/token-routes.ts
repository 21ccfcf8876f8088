import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { bodyOf, type Logger } from '../common/index.ts';
import { MqfedError } from '../protocol/index.ts';
import { type AuthMetrics, outcomeOf } from './auth-metrics.ts';
import type { ServiceRegistry } from './service-registry.ts';
import type { SigningKeyRing } from './signing-keys.ts';
import type { TokenIssuer } from './token-issuer.ts';

export const JWKS_PATH = '/.well-known/jwks.json';

// [design] a minute: verifiers refetch on an unknown kid anyway, so freshness costs little.
const jwksCacheControl = 'public, max-age=60';

// Lengths are bounded but the id is not checked against the id alphabet: any id that is not
// registered gets the same CLIENT_CREDENTIALS_INVALID, whatever it looks like. [design]
const tokenBodySchema = z.object({
  id: z.string().min(1).max(256),
  secret: z.string().min(1).max(1024),
});

export interface TokenRoutesOptions {
  registry: ServiceRegistry;
  keys: SigningKeyRing;
  issuer: TokenIssuer;
  metrics: AuthMetrics;
  logger: Logger;
}

/** `POST /token` (client credentials → JWT) and the public JWKS. */
export function registerTokenRoutes(app: FastifyInstance, options: TokenRoutesOptions): void {
  const { registry, keys, issuer, metrics, logger } = options;

  app.post(
    '/token',
    {
      onResponse: async (_request, reply) => {
        metrics.tokenRequests.inc({ outcome: outcomeOf(reply.statusCode) });
      },
    },
    async (request) => {
      const credentials = bodyOf(request, tokenBodySchema);
      let service: Awaited<ReturnType<ServiceRegistry['authenticate']>>;
      try {
        service = await registry.authenticate(credentials);
      } catch (error) {
        if (error instanceof MqfedError && error.code === 'CLIENT_CREDENTIALS_INVALID') {
          logger.warn({ id: credentials.id, ip: request.ip }, 'token refused: invalid credentials');
        }
        throw error;
      }
      const answer = await issuer.issue(service);
      logger.debug({ id: service.id, expiresAt: answer.expiresAt }, 'token issued');
      return answer;
    },
  );

  app.get(JWKS_PATH, async (_request, reply) => {
    void reply.header('cache-control', jwksCacheControl);
    return { keys: keys.published() };
  });
}
