import {
  filterCovers,
  filtersIntersect,
  isValidTopicFilter,
  MqfedError,
  topicMatches,
} from '../protocol/index.ts';

/**
 * The interest table: what the local clients of a broker service subscribe to, reference-counted
 * by filter, and the smallest set of filters that stands for all of it on peer links. Pure: no
 * I/O, no timers; the broker service applies the deltas it returns. [design]
 */

/** A change of the effective set, to apply on every peer link. */
export interface InterestDelta {
  /** Filters to subscribe on peers, sorted. */
  subscribe: string[];
  /** Filters to unsubscribe from peers, sorted. */
  unsubscribe: string[];
}

/**
 * Equal coverage ('#' and '+/#' match the same topics) is broken by a fixed rank, shorter first,
 * then by code units, so the effective set depends only on which filters are active, never on the
 * order they came in: nothing oscillates and nothing is sent twice. [design]
 */
function ranksBefore(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}

/**
 * A filter without wildcards covers only itself, so it never makes another filter redundant. Most
 * subscriptions are such plain topics; keeping them out of the comparisons keeps `add` cheap.
 */
function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/**
 * A quick necessary condition for `a` to cover `b`, so that filters in other subtrees are told
 * apart without splitting them: `b` starts with the literal levels before `a`'s first wildcard,
 * or is the parent topic that a trailing '/#' also matches.
 */
function mayCover(a: string, b: string): boolean {
  const plus = a.indexOf('+');
  const hash = a.indexOf('#');
  const first = plus === -1 ? hash : hash === -1 ? plus : Math.min(plus, hash);
  if (first <= 0) return true;
  return b.startsWith(a.slice(0, first)) || (first === hash && b === a.slice(0, first - 1));
}

/** Does `a` make `b` redundant: it covers `b`, and `b` does not cover it back or ranks later. */
function dominates(a: string, b: string): boolean {
  if (a === b || !mayCover(a, b) || !filterCovers(a, b)) return false;
  return !filterCovers(b, a) || ranksBefore(a, b);
}

/** Collects the net change of one operation: a filter added then dropped again is no change. */
class DeltaRecorder {
  readonly #subscribe = new Set<string>();
  readonly #unsubscribe = new Set<string>();

  subscribed(filter: string): void {
    if (!this.#unsubscribe.delete(filter)) this.#subscribe.add(filter);
  }

  unsubscribed(filter: string): void {
    if (!this.#subscribe.delete(filter)) this.#unsubscribe.add(filter);
  }

  result(): InterestDelta {
    return { subscribe: [...this.#subscribe].sort(), unsubscribe: [...this.#unsubscribe].sort() };
  }
}

/**
 * The effective set is the set of active filters that no other active filter dominates. Because
 * covering is transitive, it covers every active filter, and no member covers another.
 */
export class InterestTable {
  readonly #counts = new Map<string, number>();
  readonly #effective = new Set<string>();
  /** The members of the effective set that have wildcards: the only ones that can dominate. */
  readonly #wildcards = new Set<string>();

  /** One more local subscription to `filter`. Throws INVALID_REQUEST for an invalid filter. */
  add(filter: string): InterestDelta {
    if (!isValidTopicFilter(filter)) {
      throw new MqfedError('INVALID_REQUEST', `not a valid MQTT topic filter: ${filter}`);
    }
    const count = this.#counts.get(filter) ?? 0;
    this.#counts.set(filter, count + 1);
    const delta = new DeltaRecorder();
    if (count === 0) this.#insert(filter, delta);
    return delta.result();
  }

  /** One local subscription to `filter` fewer. Removing a filter never added is no change. */
  remove(filter: string): InterestDelta {
    const count = this.#counts.get(filter);
    const delta = new DeltaRecorder();
    if (count === undefined) return delta.result();
    if (count > 1) {
      this.#counts.set(filter, count - 1);
      return delta.result();
    }
    this.#counts.delete(filter);
    if (!this.#effective.delete(filter)) return delta.result();
    delta.unsubscribed(filter);
    if (!this.#wildcards.delete(filter)) return delta.result(); // it covered only itself
    // Only filters the removed one covered can have lost their last dominating member; every
    // other filter is still dominated by a remaining member (transitivity).
    for (const candidate of this.#counts.keys()) {
      if (!this.#effective.has(candidate) && filterCovers(filter, candidate)) {
        this.#insert(candidate, delta);
      }
    }
    return delta.result();
  }

  /** Inserts into the effective set unless dominated; evicts members it dominates. */
  #insert(filter: string, delta: DeltaRecorder): void {
    for (const member of this.#wildcards) if (dominates(member, filter)) return;
    if (hasWildcard(filter)) {
      for (const member of this.#effective) {
        if (dominates(filter, member)) {
          this.#effective.delete(member);
          this.#wildcards.delete(member);
          delta.unsubscribed(member);
        }
      }
      this.#wildcards.add(filter);
    }
    this.#effective.add(filter);
    delta.subscribed(filter);
  }

  /** How many local subscriptions hold `filter`. */
  refCount(filter: string): number {
    return this.#counts.get(filter) ?? 0;
  }

  /** Does any local subscription match this topic name? */
  matches(topic: string): boolean {
    for (const filter of this.#effective) if (topicMatches(filter, topic)) return true;
    return false;
  }

  /** Every active filter, sorted. */
  filters(): string[] {
    return [...this.#counts.keys()].sort();
  }

  /** The effective set, sorted: what peers should have subscribed. */
  effective(): string[] {
    return [...this.#effective].sort();
  }

  /**
   * The effective filters that can match data of a peer advertising these topics or filters: the
   * only ones worth subscribing on that peer. The whole filter is sent, not the intersection, so
   * the peer also forwards matching topics it starts publishing later. [design]
   */
  effectiveFor(peerTopics: readonly string[]): string[] {
    return this.effective().filter((filter) =>
      peerTopics.some((advertised) => filtersIntersect(filter, advertised)),
    );
  }

  /** Number of distinct active filters. */
  get size(): number {
    return this.#counts.size;
  }
}
