import type { Clock, Logger } from '../common/index.ts';
import type { DiscoveryClient } from '../discovery/index.ts';
import { type ErrorCode, LimitError, MqfedError } from '../protocol/index.ts';
import { backoffDelay } from './backoff.ts';
import type { BrokerMetrics } from './broker-metrics.ts';
import { foldFilters } from './filter-folding.ts';
import type { TopicSpace } from './topic-space.ts';

export interface DiscoveryPresenceOptions {
  id: string;
  linkUrl: string;
  leaseTtlMs: number;
  advertiseDebounceMs: number;
  interestDebounceMs: number;
  /** What this broker's clients want now, as it is advertised (narrowed to its `sub` scope). */
  interest: () => readonly string[];
  /**
   * Most interest filters to advertise: discovery refuses a broker with more (its
   * `maxInterestPerBroker`). Past it the interest is folded into broader filters.
   */
  maxInterest: number;
  /** This broker's `sub` scope: folded interest stays within it. */
  interestScope: readonly string[];
  topicIdleMs: number;
  discovery: DiscoveryClient;
  topicSpace: TopicSpace;
  clock: Clock;
  logger: Logger;
  metrics: BrokerMetrics;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  random: () => number;
  /** After every successful (re)registration: what else discovery must learn again. */
  onRegistered?: () => void;
}

export interface DiscoveryPresence {
  /** Local publishes may have changed the topic space: send a delta after the debounce. */
  topicsChanged(): void;
  /** Local subscriptions changed: send the interest delta after its (shorter) debounce. */
  interestChanged(): void;
  /** Settles after the first registration attempt, successful or not (retries go on). */
  readonly firstAttempt: Promise<void>;
  /** Stops renewing and deregisters (best effort: the lease expires anyway). */
  close(): Promise<void>;
}

/**
 * This broker's presence in discovery: registered under a lease renewed at a third of its
 * lifetime, its topic space sent as debounced deltas, idle topics withdrawn. [design] Every call
 * goes through one queue, so a delta never overtakes the registration it belongs to. Whenever
 * the lease is found lost (LEASE_NOT_FOUND) or a delta could not be sent, the broker registers
 * again with its whole topic space, which replaces whatever discovery held.
 */
export function startDiscoveryPresence(options: DiscoveryPresenceOptions): DiscoveryPresence {
  const { discovery, topicSpace, logger, id } = options;
  let queue: Promise<void> = Promise.resolve();
  let registered = false;
  let closed = false;
  let attempt = 0;
  let renewTimer: NodeJS.Timeout | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let interestTimer: NodeJS.Timeout | undefined;
  /** The interest discovery holds for this broker, as of the last successful call. */
  let advertisedInterest = new Set<string>();
  let folding = false;
  /** `maxInterest`, or discovery's cap on interest once a refusal named a lower one. */
  let maxInterest = options.maxInterest;
  /**
   * The interest to advertise: what the clients want, folded into broader filters when it would
   * not fit discovery's cap. [design] Registration must not fail for it (the broker would retry
   * forever and peers would not learn of it at all): over-approximated interest loses nothing.
   * The warning is logged once per episode, when folding starts, and its end is logged too.
   */
  const interestToAdvertise = (): string[] => {
    const wanted = options.interest();
    const { filters, folded } = foldFilters(wanted, maxInterest, options.interestScope);
    options.metrics.interestFolded.set(folded);
    if (folded > 0 && !folding) {
      folding = true;
      logger.warn(
        {
          code: 'TOPIC_LIMIT_EXCEEDED' satisfies ErrorCode,
          filters: wanted.length,
          advertised: filters.length,
          folded,
          maxInterest,
        },
        'local interest over the advertised-interest cap: advertising broader filters that cover it',
      );
    } else if (folded === 0 && folding) {
      folding = false;
      logger.info(
        { filters: filters.length },
        'local interest fits the cap again; advertised as is',
      );
    }
    return filters;
  };
  const enqueue = (work: () => Promise<void>) => {
    queue = queue.then(work, work);
    return queue;
  };

  const scheduleRenew = (delay: number) => {
    clearTimeout(renewTimer);
    if (closed) return;
    renewTimer = setTimeout(() => void enqueue(renew), delay);
    renewTimer.unref();
  };
  const retryLater = () =>
    scheduleRenew(
      backoffDelay(attempt++, options.reconnectBaseMs, options.reconnectMaxMs, options.random),
    );

  /**
   * After a refusal: when discovery named a cap below what this broker advertises up to
   * (TOPIC_LIMIT_EXCEEDED with its `limit`), the advertisement is fitted under it and sent again
   * at once; anything else is retried with backoff. [design] The caps are two settings of two
   * services, and a broker over discovery's used to be refused and retry for ever, unknown to
   * every peer. Broader topics and interest lose nothing (see TopicSpace, foldFilters). A cap
   * only ever goes down here, so the immediate retries end.
   */
  const retryAfter = (error: unknown) => {
    const limit =
      error instanceof LimitError && error.code === 'TOPIC_LIMIT_EXCEEDED'
        ? error.limit
        : undefined;
    let lowered = false;
    if (limit?.name === 'topics') lowered = topicSpace.fitWithin(limit.max);
    if (limit?.name === 'interest' && limit.max < maxInterest) {
      maxInterest = limit.max;
      lowered = true;
    }
    if (!lowered) return retryLater();
    logger.warn(
      { code: 'TOPIC_LIMIT_EXCEEDED' satisfies ErrorCode, limit: limit?.name, max: limit?.max },
      'discovery takes fewer entries than this broker advertises: advertising broader ones that cover them',
    );
    // Every caller has set `registered` false: the renewal registers again, whole.
    scheduleRenew(0);
  };

  const register = async () => {
    if (closed) return;
    topicSpace.takeDelta();
    const interest = interestToAdvertise();
    try {
      const lease = await discovery.register({
        id,
        linkUrl: options.linkUrl,
        ttlMs: options.leaseTtlMs,
        topics: topicSpace.advertised(),
        interest,
      });
      registered = true;
      advertisedInterest = new Set(interest);
      // Interest that changed while the registration was on its way goes out as a delta.
      interestChanged();
      attempt = 0;
      logger.info({ linkUrl: options.linkUrl, leaseTtlMs: lease.leaseTtlMs }, 'registered');
      options.onRegistered?.();
      scheduleRenew(lease.leaseTtlMs / 3);
    } catch (error) {
      registered = false;
      logger.warn({ err: error }, 'discovery registration failed; retrying');
      retryAfter(error);
    }
  };
  const renew = async () => {
    if (closed) return;
    if (!registered) return register();
    try {
      await discovery.renew(id);
      attempt = 0;
      scheduleRenew(options.leaseTtlMs / 3);
    } catch (error) {
      if (isLeaseLost(error)) return register();
      logger.warn({ err: error }, 'lease renewal failed; retrying');
      retryLater();
    }
  };
  const flush = async () => {
    flushTimer = undefined;
    if (closed || !registered) return;
    const delta = topicSpace.takeDelta();
    if (delta.add.length === 0 && delta.remove.length === 0) return;
    try {
      await discovery.advertise(id, delta);
      options.metrics.advertisements.inc({ outcome: 'sent' });
    } catch (error) {
      options.metrics.advertisements.inc({ outcome: 'failed' });
      logger.warn({ err: error }, 'topic advertisement failed; registering again');
      registered = false;
      if (isLeaseLost(error)) return register();
      retryAfter(error);
    }
  };

  const flushInterest = async () => {
    interestTimer = undefined;
    if (closed || !registered) return;
    const now = new Set(interestToAdvertise());
    const add = [...now].filter((filter) => !advertisedInterest.has(filter));
    const remove = [...advertisedInterest].filter((filter) => !now.has(filter));
    if (add.length === 0 && remove.length === 0) return;
    try {
      await discovery.advertiseInterest(id, { add, remove });
      advertisedInterest = now;
      options.metrics.advertisements.inc({ outcome: 'sent' });
    } catch (error) {
      options.metrics.advertisements.inc({ outcome: 'failed' });
      logger.warn({ err: error }, 'interest advertisement failed; registering again');
      registered = false;
      if (isLeaseLost(error)) return register();
      retryAfter(error);
    }
  };
  function interestChanged(): void {
    if (closed || interestTimer !== undefined) return;
    interestTimer = setTimeout(() => void enqueue(flushInterest), options.interestDebounceMs);
    interestTimer.unref();
  }

  const topicsChanged = () => {
    if (closed || flushTimer !== undefined || !topicSpace.pending) return;
    flushTimer = setTimeout(() => void enqueue(flush), options.advertiseDebounceMs);
    flushTimer.unref();
  };
  const expiry = setInterval(
    () => {
      if (topicSpace.expire(options.clock.now()) > 0) topicsChanged();
    },
    Math.min(options.topicIdleMs / 4, 60_000),
  );
  expiry.unref();

  const firstAttempt = enqueue(register);
  return {
    topicsChanged,
    interestChanged,
    firstAttempt,
    async close() {
      closed = true;
      clearTimeout(renewTimer);
      clearTimeout(flushTimer);
      clearTimeout(interestTimer);
      clearInterval(expiry);
      await queue;
      if (registered) {
        await discovery.deregister(id).catch((error: unknown) => {
          logger.warn({ err: error }, 'deregistration failed; the lease will expire');
        });
      }
    },
  };
}

function isLeaseLost(error: unknown): boolean {
  return error instanceof MqfedError && error.code === 'LEASE_NOT_FOUND';
}
