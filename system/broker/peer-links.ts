import type WebSocket from 'ws';
import type { RevocationCheck } from '../auth/index.ts';
import { createFilterMatcher, type FilterMatcher } from '../discovery/index.ts';
import type { TokenClaims } from '../protocol/index.ts';
import type { LinkState } from './broker-metrics.ts';
import { narrowToScope } from './consume-scope.ts';
import type { InterestTable } from './interest-table.ts';
import { PublishBucket } from './mqtt-client-limits.ts';
import type { PeerDirectory } from './peer-directory.ts';
import { PeerLink, type PeerLinkContext } from './peer-link.ts';

export interface LinkSnapshot {
  peer: string;
  state: LinkState | 'down';
  /** Filters this broker subscribes on the peer. */
  wanted: string[];
  /** Filters the peer subscribes here. */
  peerFilters: string[];
  /** What the peer's clients want, as discovery told it. */
  interest: string[];
  /** Publishes waiting for the peer to acknowledge them. */
  outbox: { messages: number; bytes: number };
}

/**
 * The local filters that share at least one topic name with a peer's advertised topic space
 * (`filtersIntersect`, wildcards on both sides), in the order given. [design] The peer's topics
 * are indexed once (a level trie, `createFilterMatcher`) and each local filter is read against it
 * level by level: local filters × levels instead of local filters × peer topics, which at 4,000
 * filters and 1,000 topics took 0.6–1.4 s of CPU per refresh, now about 6 ms
 * (`npm run bench:interest -- --refresh`).
 */
export function wantedFrom(narrowed: readonly string[], peerTopics: FilterMatcher): string[] {
  return narrowed.filter((filter) => peerTopics.matches(filter));
}

/**
 * The index `wantedFrom` reads a peer's topics through. [design] 16 Ki cached trie steps (about
 * 128 KiB) per peer, a quarter of a watch's: a broker holds an index per peer it knows, and past
 * the bound answers stay exact.
 */
export function indexPeerTopics(topics: Iterable<string>): FilterMatcher {
  return createFilterMatcher(topics, { maxCachedNodes: 16_384 });
}

/**
 * Route refreshes one peer's record changes may cause per second, in bursts of as many. [design]
 * Far above what a peer's real advertising causes (its topic deltas are debounced at 100 ms,
 * its interest at 20 ms), and a bound on what a peer churning its advertisement can make every
 * broker compute: at 4,000 local filters and 1,000 topics, 20 refreshes cost about 0.1 s of CPU
 * a second. A change past the rate is applied when the next refresh is due, with every change
 * that came meanwhile.
 */
export const PEER_REFRESHES_PER_SECOND = 20;
/** Peers whose refresh budget is remembered (a few numbers each). */
const MAX_PEER_BUDGETS = 10_000;

/**
 * The peer links of one broker service, one per peer, and the rule that decides which exist:
 * a link is wanted exactly when some local interest, narrowed to this broker's consume scope,
 * intersects the peer's advertised topic space. [design]
 */
export class PeerLinks {
  readonly #links = new Map<string, PeerLink>();
  readonly #ctx: PeerLinkContext;
  readonly #interest: InterestTable;
  readonly #scope: readonly string[];
  #directory: PeerDirectory | undefined;
  /** The index of each peer's topics, built once per record (records are replaced on change). */
  readonly #topicIndexes = new WeakMap<ReadonlySet<string>, FilterMatcher>();
  /** Peers whose refresh waits for the next turn; all of them after `refreshAll`. */
  readonly #pending = new Set<string>();
  #pendingAll = false;
  #flushQueued = false;
  #closed = false;
  readonly #refreshRate: number;
  /** Each peer's budget of refreshes caused by its record (`PEER_REFRESHES_PER_SECOND`). */
  readonly #budgets = new Map<string, PublishBucket>();
  /** Peers whose next refresh waits for their budget. */
  readonly #deferred = new Map<string, NodeJS.Timeout>();

  constructor(
    ctx: PeerLinkContext,
    interest: InterestTable,
    consumeScope: readonly string[],
    refreshRate = PEER_REFRESHES_PER_SECOND,
  ) {
    this.#ctx = ctx;
    this.#interest = interest;
    this.#scope = consumeScope;
    this.#refreshRate = refreshRate;
    // Outboxes kept in the data directory from before a restart: their peers are linked again
    // (once discovery says where they are) and get what they have not acknowledged.
    for (const peerId of ctx.store.peersWithOutbox()) this.#linkFor(peerId);
  }

  /** Set once discovery is being watched; until then no peer is known. */
  useDirectory(directory: PeerDirectory): void {
    this.#directory = directory;
    this.refreshAll();
  }

  #linkFor(peerId: string): PeerLink {
    let link = this.#links.get(peerId);
    if (link === undefined) {
      link = new PeerLink(peerId, this.#ctx);
      this.#links.set(peerId, link);
    }
    return link;
  }

  /**
   * Recomputes what this broker wants from one peer (its record changed), in the next turn.
   * [design] Refreshes are coalesced: a peer whose advertisement changes many times in one turn
   * (a discovery snapshot, a burst of deltas, a hostile peer churning its topics) costs one
   * recomputation, and every peer refreshed in that turn shares one computation of the local
   * interest.
   */
  refresh(peerId: string): void {
    // A refresh already waiting for the peer's budget will read its record as it is then.
    if (this.#deferred.has(peerId)) return;
    this.#pending.add(peerId);
    this.#queueFlush();
  }

  /**
   * Recomputes what this broker wants from every known peer, now, with the refreshes pending.
   * Local interest changes call it, already coalesced to one call per turn (broker-service.ts),
   * and the links follow an UNSUBSCRIBE before the client sees its UNSUBACK.
   */
  refreshAll(): void {
    this.#pendingAll = true;
    this.#flush();
  }

  /**
   * Applies now the refreshes waiting for the next turn (those waiting for a peer's budget stay
   * deferred). For what must not run on routes one turn old: the wills restored at start are
   * published once discovery's first snapshot is in, and must find the links it asks for.
   */
  settle(): void {
    if (this.#pending.size > 0 || this.#pendingAll) this.#flush();
  }

  #queueFlush(): void {
    if (this.#flushQueued || this.#closed) return;
    this.#flushQueued = true;
    setImmediate(() => {
      this.#flushQueued = false;
      if (!this.#closed) this.#flush();
    });
  }

  #flush(): void {
    const peers = new Set<string>();
    const now = performance.now();
    for (const peerId of this.#pending) {
      // Changes of a peer's record spend its budget; local interest changes (below) do not.
      const wait = this.#budgetOf(peerId, now).take(now);
      if (wait === 0) peers.add(peerId);
      else this.#defer(peerId, wait);
    }
    this.#pending.clear();
    if (this.#pendingAll) {
      this.#pendingAll = false;
      for (const peerId of this.#links.keys()) peers.add(peerId);
      for (const record of this.#directory?.peers() ?? []) peers.add(record.id);
    }
    if (peers.size === 0) return;
    const narrowed = this.narrowedInterest();
    for (const peerId of peers) this.#refreshNow(peerId, narrowed);
  }

  #budgetOf(peerId: string, now: number): PublishBucket {
    let budget = this.#budgets.get(peerId);
    if (budget === undefined) {
      budget = new PublishBucket(this.#refreshRate, now);
      this.#budgets.set(peerId, budget);
      // Peers are registered brokers, so this stays small; past the bound the oldest goes.
      if (this.#budgets.size > MAX_PEER_BUDGETS) {
        const oldest = this.#budgets.keys().next().value;
        if (oldest !== undefined) this.#budgets.delete(oldest);
      }
    }
    return budget;
  }

  #defer(peerId: string, waitMs: number): void {
    const timer = setTimeout(() => {
      this.#deferred.delete(peerId);
      if (!this.#closed) this.#refreshNow(peerId, this.narrowedInterest());
    }, waitMs);
    timer.unref();
    this.#deferred.set(peerId, timer);
  }

  #refreshNow(peerId: string, narrowed: readonly string[]): void {
    const record = this.#directory?.get(peerId);
    const existing = this.#links.get(peerId);
    if (record === undefined) {
      // The peer left discovery: stop wanting (and redialing) it; its link lingers if in use.
      // Its outbox is kept (bounded by age and bytes) for when it comes back. So is its budget:
      // leaving and joining again must not buy a peer a fresh one.
      existing?.setInterest([]);
      existing?.want([]);
      existing?.setUrl(undefined);
      return;
    }
    const wanted = wantedFrom(narrowed, this.#topicIndexOf(record.topics));
    if (wanted.length === 0 && record.interest.size === 0 && existing === undefined) return;
    const link = existing ?? this.#linkFor(peerId);
    link.setInterest([...record.interest]);
    link.setUrl(record.linkUrl);
    link.want(wanted);
  }

  #topicIndexOf(topics: ReadonlySet<string>): FilterMatcher {
    let index = this.#topicIndexes.get(topics);
    if (index === undefined) {
      index = indexPeerTopics(topics);
      this.#topicIndexes.set(topics, index);
    }
    return index;
  }

  /** What this broker's clients want, narrowed to what it may consume: what it advertises. */
  narrowedInterest(): string[] {
    return narrowToScope(this.#interest.effective(), this.#scope);
  }

  acceptsInbound(peerId: string): boolean {
    return this.#links.get(peerId)?.acceptsInbound() ?? true;
  }

  attachInbound(ws: WebSocket, claims: TokenClaims): void {
    const link = this.#linkFor(claims.sub);
    if (!link.acceptsInbound()) {
      ws.close(4409, 'LINK_EXISTS');
      return;
    }
    link.attachInbound(ws, claims);
    // The directory may not know the peer's URL yet; it is only needed to dial it again.
    const record = this.#directory?.get(claims.sub);
    if (record !== undefined) link.setUrl(record.linkUrl);
  }

  /**
   * A local client's publish: queued for every peer that wants it. False when a peer's outbox
   * refused a QoS 1 publish: the publisher must not be acknowledged.
   */
  forward(
    topic: string,
    payload: Uint8Array,
    qos: 0 | 1,
    retain: boolean,
    versionTime?: number,
  ): boolean {
    let queued = true;
    for (const link of this.#links.values()) {
      queued = link.forward(topic, payload, qos, retain, versionTime) && queued;
    }
    return queued;
  }

  /** Closes the connections of peers whose tokens are now revoked; answers their ids. */
  closeRevoked(revocations: RevocationCheck): string[] {
    const closed: string[] = [];
    for (const link of this.#links.values()) {
      if (link.closeIfRevoked(revocations)) closed.push(link.peerId);
    }
    return closed;
  }

  /** Everything waiting in outboxes, for the metrics. */
  outboxTotals(): { messages: number; bytes: number } {
    let messages = 0;
    let bytes = 0;
    for (const link of this.#links.values()) {
      const outbox = link.outbox;
      messages += outbox.messages;
      bytes += outbox.bytes;
    }
    return { messages, bytes };
  }

  states(): Record<LinkState, number> {
    const counts: Record<LinkState, number> = { connecting: 0, open: 0, idle: 0 };
    for (const link of this.#links.values()) {
      const state = link.state;
      if (state !== 'down') counts[state] += 1;
    }
    return counts;
  }

  snapshot(): LinkSnapshot[] {
    return [...this.#links.values()]
      .map((link) => ({
        peer: link.peerId,
        state: link.state,
        wanted: link.wanted,
        peerFilters: link.peerFilters,
        interest: link.interest,
        outbox: link.outbox,
      }))
      .sort((a, b) => (a.peer < b.peer ? -1 : 1));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#deferred.values()) clearTimeout(timer);
    this.#deferred.clear();
    await Promise.all([...this.#links.values()].map((link) => link.close()));
  }
}
