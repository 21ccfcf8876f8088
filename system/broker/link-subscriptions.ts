import {
  type AckFrame,
  type ErrorCode,
  MAX_FILTERS_PER_FRAME,
  type PeerFrame,
} from '../protocol/index.ts';
import { PeerFilters } from './peer-filters.ts';

/** What the link reports about subscriptions; peer-link.ts turns these into its events. */
export interface SubscriptionOutcome {
  granted: string[];
  denied: string[];
}

/**
 * Both directions of subscription on one peer link. [design] What this broker's clients want
 * from the peer (`wanted`) outlives connections and is subscribed again on each new one; what the
 * peer subscribed here (`peerFilters`) belongs to the current connection. Requests are numbered
 * so the peer's ACK can be matched to them.
 */
/** What a peer may hold subscribed on one link. */
export interface PeerFilterLimits {
  maxPeerFilters: number;
  /** Sum of the filters' UTF-16 lengths. */
  maxPeerFilterBytes: number;
}

export class LinkSubscriptions {
  readonly #limits: PeerFilterLimits;
  #peerFilterBytes = 0;
  #wanted = new Set<string>();
  /** Filters subscribed on the current connection. */
  readonly #sent = new Set<string>();
  /** Filters the peer subscribed here, on the current connection. */
  readonly peerFilters = new PeerFilters();
  #nextRequestId = 0;
  /**
   * Requests sent on the current connection and not yet acknowledged; none most of the time, so
   * the map is made at the first request and dropped once all are answered (an idle link holds
   * no empty map).
   */
  #pending: Map<number, 'subscribe' | 'unsubscribe'> | undefined;

  constructor(limits: PeerFilterLimits) {
    this.#limits = limits;
  }

  get wanted(): ReadonlySet<string> {
    return this.#wanted;
  }

  /**
   * Sets what this broker wants; with a ready connection (`send`), the difference goes out at
   * once, subscribing before unsubscribing so a narrower filter replacing a broader one loses
   * nothing.
   */
  want(filters: Iterable<string>, send: ((frame: PeerFrame) => void) | undefined): void {
    const next = new Set(filters);
    const added = [...next].filter((filter) => !this.#wanted.has(filter));
    const removed = [...this.#wanted].filter((filter) => !next.has(filter));
    this.#wanted = next;
    if (send === undefined) return;
    this.#request(
      'subscribe',
      added.filter((filter) => this.#mark(filter)),
      send,
    );
    this.#request(
      'unsubscribe',
      removed.filter((filter) => this.#sent.delete(filter)),
      send,
    );
  }

  /** A new connection is ready: everything wanted is subscribed on it. */
  subscribeAll(send: (frame: PeerFrame) => void): void {
    this.#request(
      'subscribe',
      [...this.#wanted].filter((filter) => this.#mark(filter)),
      send,
    );
  }

  /** Forgets what belonged to the connection that ended. */
  reset(): void {
    this.#sent.clear();
    this.#pending = undefined;
    this.peerFilters.clear();
    this.#peerFilterBytes = 0;
  }

  /** The peer subscribes: each filter is granted unless `refusal` names a code. */
  peerSubscribes(
    requestId: number,
    filters: string[],
    refusal: (filter: string) => ErrorCode | undefined,
    send: (frame: PeerFrame) => void,
  ): SubscriptionOutcome & { codes: ErrorCode[] } {
    const granted: string[] = [];
    const denied: string[] = [];
    const codes: ErrorCode[] = [];
    const results = filters.map((filter) => {
      const code = refusal(filter) ?? this.#limitRefusal(filter);
      if (code === undefined) {
        if (!this.peerFilters.has(filter)) this.#peerFilterBytes += filter.length;
        this.peerFilters.add(filter);
        granted.push(filter);
        return { filter, granted: true as const };
      }
      codes.push(code);
      denied.push(filter);
      return { filter, granted: false as const, code };
    });
    send({ type: 'ack', requestId, results });
    return { granted, denied, codes };
  }

  peerUnsubscribes(requestId: number, filters: string[], send: (frame: PeerFrame) => void): void {
    for (const filter of filters) this.#dropPeerFilter(filter);
    send({
      type: 'ack',
      requestId,
      results: filters.map((filter) => ({ filter, granted: true as const })),
    });
  }

  /** The peer answered one of our requests; the outcome of a SUBSCRIBE, else undefined. */
  acknowledged(frame: AckFrame): SubscriptionOutcome | undefined {
    const request = this.#pending?.get(frame.requestId);
    this.#pending?.delete(frame.requestId);
    if (this.#pending?.size === 0) this.#pending = undefined;
    if (request !== 'subscribe') return undefined;
    return {
      granted: frame.results.filter((r) => r.granted).map((r) => r.filter),
      denied: frame.results.filter((r) => !r.granted).map((r) => r.filter),
    };
  }

  /** Drops the peer's filters its (new, narrower) scope no longer covers; returns how many. */
  prune(stillAllowed: (filter: string) => boolean): number {
    let pruned = 0;
    for (const filter of [...this.peerFilters]) {
      if (!stillAllowed(filter)) {
        this.#dropPeerFilter(filter);
        pruned += 1;
      }
    }
    return pruned;
  }

  #limitRefusal(filter: string): ErrorCode | undefined {
    if (this.peerFilters.has(filter)) return undefined;
    const { maxPeerFilters, maxPeerFilterBytes } = this.#limits;
    if (this.peerFilters.size >= maxPeerFilters) return 'SUBSCRIPTION_LIMIT_EXCEEDED';
    if (this.#peerFilterBytes + filter.length > maxPeerFilterBytes) {
      return 'SUBSCRIPTION_LIMIT_EXCEEDED';
    }
    return undefined;
  }

  #dropPeerFilter(filter: string): void {
    if (!this.peerFilters.has(filter)) return;
    this.peerFilters.delete(filter);
    this.#peerFilterBytes -= filter.length;
  }

  #mark(filter: string): boolean {
    if (this.#sent.has(filter)) return false;
    this.#sent.add(filter);
    return true;
  }

  #request(
    type: 'subscribe' | 'unsubscribe',
    filters: string[],
    send: (frame: PeerFrame) => void,
  ): void {
    for (let start = 0; start < filters.length; start += MAX_FILTERS_PER_FRAME) {
      const requestId = this.#nextRequestId;
      this.#nextRequestId = (this.#nextRequestId + 1) % 0x1_0000_0000;
      this.#pending ??= new Map();
      this.#pending.set(requestId, type);
      send({ type, requestId, filters: filters.slice(start, start + MAX_FILTERS_PER_FRAME) });
    }
  }
}
