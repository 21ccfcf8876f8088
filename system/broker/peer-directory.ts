import type { Logger } from '../common/index.ts';
import type { DiscoveryClient, Watch, WatchEvent } from '../discovery/index.ts';
import { backoffDelay } from './backoff.ts';

/** What this broker knows of another broker service: where it listens and what it has. */
export interface PeerRecord {
  readonly id: string;
  readonly linkUrl: string;
  readonly topics: ReadonlySet<string>;
  /** What its clients want (within what this broker may publish), from its advertisement. */
  readonly interest: ReadonlySet<string>;
}

export interface PeerDirectoryOptions {
  selfId: string;
  discovery: DiscoveryClient;
  /** What to watch: the filters this broker may consume (its token's `sub` scope). */
  filters: readonly string[];
  /**
   * And whose interest to watch: the filters this broker may publish (its token's `pub` scope),
   * so it learns which peers want its publishes before any link exists.
   */
  interestFilters: readonly string[];
  /** Called after every change of a peer's record; `undefined` when the peer left. */
  onChange(peerId: string, record: PeerRecord | undefined): void;
  /**
   * Peers dialed at another URL than the one they advertise: a NAT or proxy in between, or an
   * emulated network link in the testbed. [design] Applied here, so every user of a record sees
   * the URL this broker must dial.
   */
  peerRoutes?: Readonly<Record<string, string>>;
  logger: Logger;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  random: () => number;
}

export interface PeerDirectory {
  get(peerId: string): PeerRecord | undefined;
  peers(): IterableIterator<PeerRecord>;
  /** Resolves once the first snapshot arrived (or the first attempt failed and retries run). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * The peers this broker could link to, kept current by one discovery watch. [design] The whole
 * view is held locally, so a new local subscription finds its peers at once, without a lookup
 * call on the subscribe path. The watch is reopened with backoff whenever it drops; its new
 * snapshot replaces the view, and peers missing from it count as left.
 */
export function startPeerDirectory(options: PeerDirectoryOptions): PeerDirectory {
  const view = new Map<string, PeerRecord>();
  let watch: Watch | undefined;
  let closed = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const set = (
    id: string,
    linkUrl: string,
    topics: Iterable<string>,
    interest: Iterable<string> = [],
  ) => {
    if (id === options.selfId) return;
    const record: PeerRecord = {
      id,
      linkUrl: options.peerRoutes?.[id] ?? linkUrl,
      topics: new Set(topics),
      interest: new Set(interest),
    };
    view.set(id, record);
    options.onChange(id, record);
  };
  const drop = (id: string) => {
    if (view.delete(id)) options.onChange(id, undefined);
  };
  const apply = (event: WatchEvent) => {
    switch (event.type) {
      case 'snapshot': {
        const present = new Set(event.brokers.map((broker) => broker.id));
        for (const id of [...view.keys()]) if (!present.has(id)) drop(id);
        for (const broker of event.brokers) {
          set(broker.id, broker.linkUrl, broker.topics, broker.interest);
        }
        break;
      }
      case 'joined':
        set(event.broker.id, event.broker.linkUrl, event.broker.topics, event.broker.interest);
        break;
      case 'topics-added':
      case 'topics-removed': {
        const known = view.get(event.brokerId);
        if (known === undefined) break;
        const topics = changed(known.topics, event.topics, event.type === 'topics-added');
        set(known.id, known.linkUrl, topics, known.interest);
        break;
      }
      case 'interest-added':
      case 'interest-removed': {
        const known = view.get(event.brokerId);
        if (known === undefined) break;
        const interest = changed(known.interest, event.interest, event.type === 'interest-added');
        set(known.id, known.linkUrl, known.topics, interest);
        break;
      }
      case 'left':
        drop(event.brokerId);
        break;
    }
  };

  const open = async () => {
    retryTimer = undefined;
    if (closed) return;
    try {
      const opened = await options.discovery.watch(options.filters, apply, {
        interestFilters: options.interestFilters,
      });
      if (closed) {
        await opened.close();
        return;
      }
      watch = opened;
      attempt = 0;
      markReady();
      void opened.closed.then(({ code, reason }) => {
        watch = undefined;
        if (closed) return;
        options.logger.warn({ code, reason }, 'discovery watch closed; reopening');
        scheduleRetry();
      });
    } catch (error) {
      options.logger.warn({ err: error }, 'discovery watch failed; retrying');
      markReady();
      scheduleRetry();
    }
  };
  const scheduleRetry = () => {
    if (closed || retryTimer !== undefined) return;
    const delay = backoffDelay(
      attempt,
      options.reconnectBaseMs,
      options.reconnectMaxMs,
      options.random,
    );
    attempt += 1;
    retryTimer = setTimeout(() => void open(), delay);
    retryTimer.unref();
  };

  if (options.filters.length === 0 && options.interestFilters.length === 0) markReady();
  else void open();

  return {
    get: (peerId) => view.get(peerId),
    peers: () => view.values(),
    ready,
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      await watch?.close();
    },
  };
}

/** A copy of `current` with `delta` added (`add`) or removed. */
function changed(
  current: ReadonlySet<string>,
  delta: readonly string[],
  add: boolean,
): Set<string> {
  const next = new Set(current);
  for (const item of delta) {
    if (add) next.add(item);
    else next.delete(item);
  }
  return next;
}
