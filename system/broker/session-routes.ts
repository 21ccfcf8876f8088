import type { FastifyInstance } from 'fastify';
import { bodyOf } from '../common/index.ts';
import { PEER_API_PREFIX, type PeerApi } from './peer-api.ts';
import type { SessionHandover } from './session-handover.ts';
import { releaseRequestSchema, tailRequestSchema, takeRequestSchema } from './session-wire.ts';

/**
 * The session routes of the peer API. A tail page may carry `pageBytes` of messages, so its
 * body limit is set for these routes alone; every other route keeps the app's small limit.
 */
export function registerSessionRoutes(
  app: FastifyInstance,
  api: PeerApi,
  handover: SessionHandover,
  pageBytes: number,
): void {
  const options = { ...api.onlyPeers, bodyLimit: pageBytes * 2 + 1024 * 1024 };
  app.post(`${PEER_API_PREFIX}/sessions/take`, options, async (request) =>
    handover.give(api.claimsOf(request), bodyOf(request, takeRequestSchema)),
  );
  app.post(`${PEER_API_PREFIX}/sessions/release`, api.onlyPeers, async (request) =>
    handover.release(api.claimsOf(request), bodyOf(request, releaseRequestSchema)),
  );
  app.post(`${PEER_API_PREFIX}/sessions/tail`, options, async (request) =>
    handover.receiveTail(api.claimsOf(request), bodyOf(request, tailRequestSchema)),
  );
}
