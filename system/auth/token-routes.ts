import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { bearerTokenOf, bodyOf, type Logger } from '../common/index.ts';
import { MqfedError, type TokenTarget, tokenTargetSchema } from '../protocol/index.ts';
import { type AuthMetrics, outcomeOf } from './auth-metrics.ts';
import type { ServiceRegistry } from './service-registry.ts';
import type { SigningKeyRing } from './signing-keys.ts';
import type { TokenIssuer, TokenSubject } from './token-issuer.ts';
import type { TokenThrottle } from './token-throttle.ts';
import type { TokenVerifier } from './token-verifier.ts';

export const JWKS_PATH = '/.well-known/jwks.json';

// [design] a minute: verifiers refetch on an unknown kid anyway, so freshness costs little.
const jwksCacheControl = 'public, max-age=60';

// Lengths are bounded but the id is not checked against the id alphabet: any id that is not
// registered gets the same CLIENT_CREDENTIALS_INVALID, whatever it looks like. [design]
const credentialsGrantSchema = z.object({
  id: z.string().min(1).max(256),
  secret: z.string().min(1).max(1024),
  audience: tokenTargetSchema.optional(),
});
const exchangeGrantSchema = z.object({ audience: tokenTargetSchema });

export interface TokenRoutesOptions {
  registry: ServiceRegistry;
  keys: SigningKeyRing;
  issuer: TokenIssuer;
  /** Verifies the auth-audience tokens presented for an exchange, with the ring's own keys. */
  verifier: TokenVerifier;
  metrics: AuthMetrics;
  logger: Logger;
  /** Refuses floods of failed requests and bounds concurrent secret checks; none in tests. */
  throttle?: TokenThrottle;
}

/**
 * `POST /token` and the public JWKS. Two grants [design]:
 * - credentials `{ id, secret, audience? }`: proves the secret (scrypt) and answers a token for
 *   `audience`, `auth` when absent;
 * - exchange `{ audience }` with `Authorization: Bearer <token for auth>`: a service that proved
 *   its secret once gets a token for each recipient it talks to (every peer, discovery) without
 *   paying the secret check again. Its registration is read afresh, so a revoked service or one
 *   whose secret was rotated after its token was issued gets nothing.
 * Any well-formed recipient may be asked for, registered or not: a token only ever carries its
 * holder's own identity and scope, so minting one for a broker that does not exist yet lends
 * nobody anything.
 */
export function registerTokenRoutes(app: FastifyInstance, options: TokenRoutesOptions): void {
  const { registry, keys, issuer, metrics, logger } = options;

  const byCredentials = async (request: FastifyRequest): Promise<[TokenSubject, TokenTarget]> => {
    const { audience = 'auth', ...credentials } = bodyOf(request, credentialsGrantSchema);
    try {
      return [await registry.authenticate(credentials), audience];
    } catch (error) {
      if (error instanceof MqfedError && error.code === 'CLIENT_CREDENTIALS_INVALID') {
        logger.warn({ id: credentials.id, ip: request.ip }, 'token refused: invalid credentials');
      }
      throw error;
    }
  };

  const byExchange = async (request: FastifyRequest): Promise<[TokenSubject, TokenTarget]> => {
    const { audience } = bodyOf(request, exchangeGrantSchema);
    const claims = await options.verifier.verify(bearerTokenOf(request.headers));
    const service = registry.find(claims.sub);
    // iat has whole seconds: a token from the second of a rotation is let through. [design]
    if (service === undefined || (claims.iat + 1) * 1000 <= service.secretRotatedAt) {
      throw new MqfedError('CLIENT_CREDENTIALS_INVALID', 'the service was revoked or rotated');
    }
    return [service, audience];
  };

  app.post(
    '/token',
    {
      ...(options.throttle === undefined ? {} : { preHandler: options.throttle.admit }),
      onResponse: async (request, reply) => {
        metrics.tokenRequests.inc({ outcome: outcomeOf(reply.statusCode) });
        options.throttle?.record(request, reply.statusCode);
      },
    },
    async (request) => {
      const exchange = request.headers.authorization !== undefined;
      const [service, target] = await (exchange ? byExchange(request) : byCredentials(request));
      const answer = await issuer.issue(service, target);
      logger.debug(
        { id: service.id, target, exchange, expiresAt: answer.expiresAt },
        'token issued',
      );
      return answer;
    },
  );

  app.get(JWKS_PATH, async (_request, reply) => {
    void reply.header('cache-control', jwksCacheControl);
    return { keys: keys.published() };
  });
}
