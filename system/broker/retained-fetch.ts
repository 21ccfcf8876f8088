import type { Logger } from '../common/index.ts';
import { filtersIntersect, MqfedError, topicMatches } from '../protocol/index.ts';
import { callPeer, type PeerApiCaller } from './peer-api.ts';
import type { PeerRecord } from './peer-directory.ts';
import type { RetainedFetchResult, RetainedMetrics } from './retained-metrics.ts';
import {
  type FetchedRetained,
  MAX_FETCH_FILTERS,
  RETAINED_FETCH_PATH,
  retainedFetchAnswerSchema,
} from './retained-wire.ts';

export interface RetainedFetcherOptions {
  caller: PeerApiCaller;
  /** The peers discovery shows, with the topic space each advertises. */
  peers: () => Iterable<PeerRecord>;
  /** What this broker may consume (its token's `sub` scope): nothing else is asked or taken. */
  scope: readonly string[];
  deadlineMs: number;
  maxResponseBytes: number;
  metrics: Pick<RetainedMetrics, 'fetches' | 'dropped'>;
  logger: Logger;
  /** Stores one fetched message or delete if it wins; the fetch waits for it. */
  store: (entry: FetchedRetained) => Promise<void>;
}

/**
 * The retained fetch of a new subscription: asks every peer whose advertised topic space meets
 * the subscription's filters for its retained messages there, in parallel, and stores the
 * winners here (the caller's `store`) before the subscriber is served from the local store.
 * [design] Each peer gets `deadlineMs`: a peer that is down or slow only loses its part, and a
 * subscription waits at most that long. Concurrent fetches of the same filters share one round
 * of calls, so a crowd subscribing one filter costs one fetch per peer, not one per client. Every
 * answer is checked as a hostile peer's would be: bounded while read, validated whole, every
 * topic inside what was asked and what this broker may consume, or the answer is refused.
 */
export function createRetainedFetcher(
  options: RetainedFetcherOptions,
): (patterns: readonly string[]) => Promise<void> {
  const inFlight = new Map<string, Promise<void>>();
  const { metrics, logger } = options;

  const fetchFrom = async (peerId: string, filters: string[]): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new MqfedError('PEER_UNREACHABLE', 'retained fetch deadline')),
        options.deadlineMs,
      );
    });
    let result: RetainedFetchResult;
    try {
      const answer = await Promise.race([
        callPeer<unknown>(options.caller, peerId, RETAINED_FETCH_PATH, {
          body: { filters },
          timeoutMs: options.deadlineMs,
          maxResponseBytes: options.maxResponseBytes,
        }),
        deadline,
      ]);
      const parsed = retainedFetchAnswerSchema.safeParse(answer);
      if (!parsed.success) throw new InvalidAnswer('the answer does not match its schema');
      const { messages, truncated } = parsed.data;
      const outside = messages.find(
        ({ topic }) =>
          !filters.some((filter) => topicMatches(filter, topic)) ||
          !options.scope.some((filter) => topicMatches(filter, topic)),
      );
      if (outside !== undefined) {
        metrics.dropped.inc({ reason: 'scope' });
        throw new InvalidAnswer(`topic ${outside.topic.slice(0, 200)} was not asked for`);
      }
      for (const entry of messages) await options.store(entry);
      result = truncated ? 'truncated' : 'ok';
    } catch (error) {
      result = resultOf(error);
      logger.warn(
        { peer: peerId, result, reason: (error as Error).message },
        'retained fetch from peer failed; its part is left out',
      );
    } finally {
      clearTimeout(timer);
    }
    metrics.fetches.inc({ result });
  };

  const fetchAll = async (filters: string[]): Promise<void> => {
    const calls: Promise<void>[] = [];
    for (const peer of options.peers()) {
      const wanted = filters.filter((filter) =>
        [...peer.topics].some((topic) => filtersIntersect(filter, topic)),
      );
      for (let at = 0; at < wanted.length; at += MAX_FETCH_FILTERS) {
        calls.push(fetchFrom(peer.id, wanted.slice(at, at + MAX_FETCH_FILTERS)));
      }
    }
    await Promise.all(calls);
  };

  return (patterns) => {
    // Only what this broker may consume is worth asking for.
    const filters = [...new Set(patterns)]
      .filter((filter) => options.scope.some((scope) => filtersIntersect(scope, filter)))
      .sort();
    if (filters.length === 0) return Promise.resolve();
    const key = filters.join('\n');
    let running = inFlight.get(key);
    if (running === undefined) {
      running = fetchAll(filters).finally(() => inFlight.delete(key));
      inFlight.set(key, running);
    }
    return running;
  };
}

class InvalidAnswer extends Error {}

function resultOf(error: unknown): RetainedFetchResult {
  if (error instanceof InvalidAnswer || error instanceof SyntaxError) return 'invalid_answer';
  if (error instanceof MqfedError) {
    if (error.code === 'BODY_TOO_LARGE') return 'invalid_answer';
    if (error.code === 'PEER_UNREACHABLE') {
      return error.message.includes('deadline') ? 'timeout' : 'unreachable';
    }
    return error.httpStatus >= 500 ? 'error' : 'refused';
  }
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  // fetch() failing to connect: a TypeError with the socket error as its cause.
  if (error instanceof TypeError) return 'unreachable';
  return 'error';
}
