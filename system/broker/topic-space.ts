import { z } from 'zod';
import { createFilterMatcher, type FilterMatcher } from '../discovery/index.ts';
import {
  filterCovers,
  isValidTopicName,
  MqfedError,
  parseWith,
  topicFilterSchema,
  topicMatches,
} from '../protocol/index.ts';
import { type FoldedFilters, foldFilters } from './filter-folding.ts';

/**
 * The topic-space tracker: which topics the local clients of a broker service publish to, turned
 * into the advertisement discovery holds for it. Pure: the broker calls `observe` on each local
 * publish, `expire` and `takeDelta` from its own timers, and sends the delta. Collecting changes
 * between two `takeDelta` calls is the debounce. [design]
 *
 * Exact means the advertisement matches precisely the topics published here. Every wildcard filter
 * matches unboundedly many topic names, so no filter equals a finite set of observed topics, and
 * widening 'a/b' and 'a/c' into 'a/+' would claim data this broker does not have. The only exact
 * collapse is to leave out a topic that a declared filter (option `filters`) already covers.
 *
 * Topics starting with '$' are broker-internal (MQTT §4.7.2) and never advertised. [design]
 */

export interface TopicSpaceOptions {
  /** A topic not published for this long is no longer advertised, so a publisher that moved away
   * is eventually un-advertised. */
  idleMs: number;
  /** At most this many advertised entries derived from observed topics; above it they are folded
   * into broader filters (filter-folding.ts), within `scope`. */
  maxTopics: number;
  /** Filters always advertised, e.g. data an operator declares this broker offers. */
  filters: string[];
  /**
   * The broker's pub scope: a topic outside it is never advertised. [design] Discovery refuses
   * an advertisement with an entry outside the scope (SCOPE_DENIED) and would keep refusing it,
   * so one local client allowed a wider scope (or anonymous) could take its broker out of the
   * federation; peers would drop its data anyway. Everything when absent.
   */
  scope?: readonly string[] | undefined;
  /**
   * At most this many topics are remembered one by one. Past it they are merged into the
   * broader filters that stand for them (`fold`), remembered as one. [design] A client may
   * publish on as many distinct topics as its rate allows (10,000 a second, for the 10 minutes
   * of `idleMs`), and the broker must not hold each of them; folded, it holds at most
   * `maxTopics` filters. The advertisement is folded long before this anyway.
   */
  maxTrackedTopics: number;
}

export const DEFAULT_TOPIC_SPACE_OPTIONS: Readonly<TopicSpaceOptions> = Object.freeze({
  idleMs: 10 * 60_000,
  maxTopics: 1000,
  filters: [],
  maxTrackedTopics: 20_000,
});

const optionsSchema = z.object({
  idleMs: z.number().int().positive(),
  maxTopics: z.number().int().positive(),
  filters: z.array(topicFilterSchema),
  scope: z.array(topicFilterSchema).optional(),
  maxTrackedTopics: z.number().int().positive(),
});

/** What changed in the advertisement since the last `takeDelta`. */
export interface TopicSpaceDelta {
  /** Topics or filters to advertise, sorted. */
  add: string[];
  /** Topics or filters to withdraw, sorted. */
  remove: string[];
}

interface Seen {
  at: number;
  /** Covered by a declared filter, so it never needs an entry of its own. */
  covered: boolean;
}

export class TopicSpace {
  readonly #options: Readonly<TopicSpaceOptions>;
  /** Declared filters, minus those another declared filter covers. */
  readonly #declared: string[];
  readonly #seen = new Map<string, Seen>();
  /** Topics held for a retained message of a local client: advertised, never idle (`hold`). */
  readonly #held = new Set<string>();
  #advertised = new Set<string>();
  /** What the current advertisement covers, while it is folded; undefined while it is exact. */
  #covering: FilterMatcher | undefined;
  /**
   * Filters standing for topics merged when more than `maxTrackedTopics` were remembered, with
   * the last time any topic they cover was published: they idle out together.
   */
  #merged: { filters: Set<string>; matcher: FilterMatcher; at: number } | undefined;
  /** The scope folded entries must stay in: the pub scope, or everything. */
  readonly #foldScope: readonly string[];
  /** The most entries the whole advertisement may have: discovery's cap, once it named it. */
  #maxEntries = Number.POSITIVE_INFINITY;
  #dirty = true;

  constructor(options: Partial<TopicSpaceOptions> = {}) {
    this.#options = Object.freeze(
      parseWith(optionsSchema, { ...DEFAULT_TOPIC_SPACE_OPTIONS, ...options }),
    );
    const filters = [...new Set(this.#options.filters)].sort();
    // [design] Discovery would refuse every registration with such a filter (SCOPE_DENIED) for
    // as long as the broker runs, unknown to its peers: refused here, where the operator sees it.
    this.#foldScope = this.#options.scope ?? ['#'];
    // Only a scope that was given refuses: without one, nothing is outside (`$` filters too).
    const scope = this.#options.scope;
    const outside =
      scope === undefined
        ? []
        : filters.filter((filter) => !scope.some((allowed) => filterCovers(allowed, filter)));
    if (outside.length > 0) {
      throw new MqfedError(
        'SCOPE_DENIED',
        `declared topics outside this broker's pub scope (${scope?.join(', ')}): ` +
          outside.slice(0, 5).join(', '),
      );
    }
    this.#declared = filters.filter(
      (filter) => !filters.some((other) => other !== filter && filterCovers(other, filter)),
    );
  }

  /** A local client published to `topic` at `now` (ms). Called per publish: cheap when known. */
  observe(topic: string, now: number): void {
    const seen = this.#seen.get(topic);
    if (seen !== undefined) {
      if (now > seen.at) seen.at = now;
      return;
    }
    if (topic.startsWith('$') || !isValidTopicName(topic) || !this.#inScope(topic)) return;
    // [design] A topic under a merged filter is not remembered on its own: bounding that is the
    // point of merging. Its publishes pay this check instead of a map lookup.
    const merged = this.#merged;
    if (merged?.matcher.matches(topic)) {
      if (now > merged.at) merged.at = now;
      return;
    }
    const covered = this.#declared.some((filter) => topicMatches(filter, topic));
    this.#seen.set(topic, { at: now, covered });
    if (this.#seen.size > this.#options.maxTrackedTopics) {
      this.#merge();
      return;
    }
    // A topic already inside the folded advertisement changes nothing until it is recomputed.
    if (covered) return;
    if (!(this.#covering?.matches(topic) ?? this.#advertised.has(topic))) this.#dirty = true;
  }

  /**
   * Replaces the remembered topics with at most `maxTopics` filters that cover them (and the
   * filters merged before), within the scope. Topics a declared filter covers need no memory.
   */
  #merge(): void {
    const topics = [...(this.#merged?.filters ?? [])];
    let at = this.#merged?.at ?? 0;
    for (const [topic, seen] of this.#seen) {
      if (!seen.covered) topics.push(topic);
      if (seen.at > at) at = seen.at;
    }
    this.#seen.clear();
    const filters = new Set(foldFilters(topics, this.#options.maxTopics, this.#foldScope).filters);
    this.#merged = { filters, matcher: createFilterMatcher([...filters]), at };
    this.#dirty = true;
  }

  /**
   * `topic` holds (`held`) or no longer holds a retained message a local client published.
   * [design] While it does, it stays advertised whatever its idle time, so a broker that
   * subscribes to it long after the publish still finds this one and fetches the message. The
   * retained bounds bound how many there are; past `maxTopics` they are folded like the rest.
   */
  hold(topic: string, held: boolean): void {
    if (held) {
      if (this.#held.has(topic) || topic.startsWith('$') || !isValidTopicName(topic)) return;
      if (!this.#inScope(topic)) return;
      this.#held.add(topic);
    } else if (!this.#held.delete(topic)) {
      return;
    }
    if (!this.#declared.some((filter) => topicMatches(filter, topic))) this.#dirty = true;
  }

  /**
   * Discovery takes at most `max` entries from this broker, declared filters included: the next
   * advertisement fits them (folded, declared filters too when they alone do not fit). Returns
   * whether this lowered the bound. [design] A broker whose advertisement discovery refuses is
   * known to no peer; a coarser one only makes peers link to it in vain.
   */
  fitWithin(max: number): boolean {
    if (!(max >= 1 && max < this.#maxEntries)) return false;
    this.#maxEntries = max;
    this.#dirty = true;
    return true;
  }

  #inScope(topic: string): boolean {
    const scope = this.#options.scope;
    return scope === undefined || scope.some((filter) => topicMatches(filter, topic));
  }

  /** Forgets topics idle for `idleMs` or longer; returns how many were forgotten. */
  expire(now: number): number {
    let expired = 0;
    if (this.#merged !== undefined && now - this.#merged.at >= this.#options.idleMs) {
      expired += this.#merged.filters.size;
      this.#merged = undefined;
      this.#dirty = true;
    }
    for (const [topic, seen] of this.#seen) {
      if (now - seen.at < this.#options.idleMs) continue;
      this.#seen.delete(topic);
      expired++;
      if (!seen.covered) this.#dirty = true;
    }
    return expired;
  }

  /** Whether the advertisement may have changed since the last `takeDelta`. */
  get pending(): boolean {
    return this.#dirty;
  }

  /** The change of the advertisement since the last call; empty when nothing changed. */
  takeDelta(): TopicSpaceDelta {
    if (!this.#dirty) return { add: [], remove: [] };
    this.#dirty = false;
    const next = this.#compute();
    const add = [...next].filter((entry) => !this.#advertised.has(entry)).sort();
    const remove = [...this.#advertised].filter((entry) => !next.has(entry)).sort();
    this.#advertised = next;
    return { add, remove };
  }

  #compute(): Set<string> {
    const topics: string[] = [...(this.#merged?.filters ?? [])];
    for (const [topic, seen] of this.#seen) if (!seen.covered) topics.push(topic);
    for (const topic of this.#held) {
      if (this.#seen.has(topic)) continue;
      if (!this.#declared.some((filter) => topicMatches(filter, topic))) topics.push(topic);
    }
    this.#covering = undefined;
    const scope = this.#foldScope;
    const room = Math.min(this.#options.maxTopics, this.#maxEntries - this.#declared.length);
    if (room < 1 && this.#declared.length + topics.length > this.#maxEntries) {
      // The declared filters alone fill discovery's cap: they are folded with the rest.
      return this.#folded(foldFilters([...this.#declared, ...topics], this.#maxEntries, scope));
    }
    if (topics.length <= room) return new Set([...this.#declared, ...topics]);
    return this.#folded(foldFilters(topics, room, scope), this.#declared);
  }

  #folded(fold: FoldedFilters, declared: readonly string[] = []): Set<string> {
    const entries = new Set([...declared, ...fold.filters]);
    this.#covering = createFilterMatcher([...entries]);
    return entries;
  }

  /** The advertisement as of the last `takeDelta`, sorted: what to send whole on re-registering. */
  advertised(): string[] {
    return [...this.#advertised].sort();
  }

  /** False while the last advertisement over-claims: topics exceeded a cap, or were merged. */
  get exact(): boolean {
    return this.#covering === undefined && this.#merged === undefined;
  }

  /** Topics remembered one by one, and filters standing for merged ones (published within the
   * idle period). */
  get size(): number {
    return this.#seen.size + (this.#merged?.filters.size ?? 0);
  }
}
