import type { FastifyRequest } from 'fastify';
import { MqfedError } from '../protocol/index.ts';

/**
 * Authentication as a route option: it runs in `onRequest`, before the body is parsed, so an
 * unauthenticated caller costs no parsing; the handler then reads who called. [design]
 */
export interface RouteAuth<Caller, Requirement> {
  /** Route options that authenticate with `requirement` (roles, say) before anything else. */
  only(requirement: Requirement): { onRequest: (request: FastifyRequest) => Promise<void> };
  /** Who called, for a request that passed `only`. */
  callerOf(request: FastifyRequest): Caller;
}

export function routeAuth<Caller extends object, Requirement>(
  authenticate: (request: FastifyRequest, requirement: Requirement) => Promise<Caller>,
): RouteAuth<Caller, Requirement> {
  const callers = new WeakMap<FastifyRequest, Caller>();
  return {
    only: (requirement) => ({
      onRequest: async (request) => {
        callers.set(request, await authenticate(request, requirement));
      },
    }),
    callerOf(request) {
      const found = callers.get(request);
      if (found === undefined) throw new MqfedError('INTERNAL', 'route ran without authentication');
      return found;
    },
  };
}
