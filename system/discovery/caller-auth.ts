import { requireRole, type TokenVerifier } from '../auth/index.ts';
import { bearerTokenOf } from '../common/index.ts';
import {
  filterCovers,
  MqfedError,
  type ServiceRole,
  type TokenClaims,
  toMqfedError,
} from '../protocol/index.ts';
import type { DiscoveryMetrics } from './discovery-metrics.ts';

/** Who may ask: any broker service, and a discovery-role client such as a monitoring tool. */
export const READER_ROLES: readonly ServiceRole[] = ['broker', 'discovery'];

/**
 * Authentication and authorization of discovery callers, HTTP and WebSocket alike. Every refusal
 * is counted by code before it is thrown, so denials show on /metrics whichever edge saw them.
 */
export interface CallerAuth {
  /** The verified claims of the bearer token in `headers`, if its role is one of `roles`. */
  authenticate(
    headers: { authorization?: string | undefined },
    roles: ServiceRole | readonly ServiceRole[],
  ): Promise<TokenClaims>;
  /** Verifies a token sent some other way (the watch socket's `auth` frame). */
  verify(token: string, roles: ServiceRole | readonly ServiceRole[]): Promise<TokenClaims>;
  /** IDENTITY_MISMATCH unless the caller is broker `id` itself. */
  requireIdentity(claims: TokenClaims, id: string): void;
  /** SCOPE_DENIED unless every entry is covered by one of the caller's `pub` filters. */
  requirePubScope(claims: TokenClaims, topics: readonly string[]): void;
  /**
   * SCOPE_DENIED unless every interest filter is covered by one of the caller's `sub` filters.
   * [design] A broker's clients can only want what its token lets it consume; interest beyond
   * that would make publishers queue messages that could never be delivered to it.
   */
  requireSubScope(claims: TokenClaims, filters: readonly string[]): void;
}

export function createCallerAuth(verifier: TokenVerifier, metrics: DiscoveryMetrics): CallerAuth {
  const refuse = (error: unknown): never => {
    const failure = toMqfedError(error);
    metrics.denials.inc({ code: failure.code });
    throw failure;
  };
  const requireScope = (scope: readonly string[], name: string, entries: readonly string[]) => {
    const outside = entries.filter((entry) => !scope.some((filter) => filterCovers(filter, entry)));
    if (outside.length > 0) {
      const shown = outside.slice(0, 5).map((entry) => JSON.stringify(entry));
      refuse(
        new MqfedError('SCOPE_DENIED', `outside the token's ${name} scope: ${shown.join(', ')}`),
      );
    }
  };
  const verify = async (token: string, roles: ServiceRole | readonly ServiceRole[]) => {
    try {
      return requireRole(await verifier.verify(token), roles);
    } catch (error) {
      return refuse(error);
    }
  };

  return {
    async authenticate(headers, roles) {
      let token: string;
      try {
        token = bearerTokenOf(headers);
      } catch (error) {
        return refuse(error);
      }
      return verify(token, roles);
    },
    verify,
    requireIdentity(claims, id) {
      if (claims.sub !== id) {
        refuse(new MqfedError('IDENTITY_MISMATCH', `${claims.sub} may not act as ${id}`));
      }
    },
    requirePubScope(claims, topics) {
      requireScope(claims.topics.pub, 'pub', topics);
    },
    requireSubScope(claims, filters) {
      requireScope(claims.topics.sub, 'sub', filters);
    },
  };
}
