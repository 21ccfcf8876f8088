import type { FastifyInstance } from 'fastify';
import { bodyOf } from '../common/index.ts';
import { MqfedError, topicMatches } from '../protocol/index.ts';
import type { DurablePersistence } from './durable-persistence.ts';
import { PEER_API_PREFIX, type PeerApi } from './peer-api.ts';
import type { RetainedMetrics } from './retained-metrics.ts';
import {
  type FetchedRetained,
  RETAINED_FETCH_PATH,
  retainedFetchRequestSchema,
} from './retained-wire.ts';

export interface RetainedRoutesOptions {
  peerApi: PeerApi;
  persistence: Pick<DurablePersistence, 'retainedMatching'>;
  /** An answer holds at most this many messages and payload (plus topic) bytes. */
  maxMessages: number;
  maxBytes: number;
  metrics: Pick<RetainedMetrics, 'served'>;
  /** Answers being computed at once; more are refused (RATE_LIMITED) until one is done. */
  maxInFlight?: number;
}

/**
 * [design] A walk of the retained store costs up to (retained messages × filters) topic matches,
 * so however many peers ask, only this many walks run at a time.
 */
export const DEFAULT_RETAINED_ANSWERS_IN_FLIGHT = 4;

/**
 * `POST /peer-api/retained`: a peer's retained fetch. [design] Only topics inside the caller's
 * token `topics.sub` scope are answered (the same rule as forwarding over a link), and the answer
 * is bounded in messages and bytes (`truncated` says so): one request costs this broker at most
 * one bounded walk of its retained store, and only a few walks run at once.
 */
export function registerRetainedRoutes(app: FastifyInstance, options: RetainedRoutesOptions): void {
  const { peerApi, persistence, maxMessages, maxBytes, metrics } = options;
  const maxInFlight = options.maxInFlight ?? DEFAULT_RETAINED_ANSWERS_IN_FLIGHT;
  let inFlight = 0;
  app.post(`${PEER_API_PREFIX}${RETAINED_FETCH_PATH}`, peerApi.onlyPeers, async (request) => {
    const scope = peerApi.claimsOf(request).topics.sub;
    const { filters } = bodyOf(request, retainedFetchRequestSchema);
    if (inFlight >= maxInFlight) {
      metrics.served.inc({ result: 'busy' });
      throw new MqfedError('RATE_LIMITED', 'too many retained fetches at once; ask again later');
    }
    inFlight += 1;
    try {
      return await answer(scope, filters);
    } finally {
      inFlight -= 1;
    }
  });

  const answer = async (scope: readonly string[], filters: readonly string[]) => {
    const inScope = (topic: string) => scope.some((filter) => topicMatches(filter, topic));
    const messages: FetchedRetained[] = [];
    let bytes = 0;
    let truncated = false;
    for await (const held of persistence.retainedMatching(filters, inScope)) {
      const size = Buffer.byteLength(held.topic) + held.payload.length;
      if (messages.length >= maxMessages || bytes + size > maxBytes) {
        truncated = true;
        break;
      }
      bytes += size;
      const deleted = held.payload.length === 0;
      messages.push({
        topic: held.topic,
        payload: held.payload.toString('base64'),
        qos: held.qos === 2 ? 2 : held.qos === 1 ? 1 : 0,
        time: held.version.time,
        origin: held.version.origin,
        ...(deleted ? { deleted } : {}),
      });
    }
    metrics.served.inc({ result: truncated ? 'truncated' : 'ok' });
    return { messages, truncated };
  };
}
