import { z } from 'zod';
import {
  filterCovers,
  isValidTopicName,
  parseWith,
  topicFilterSchema,
  topicMatches,
} from '../protocol/index.ts';

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
  /** At most this many advertised entries derived from observed topics; above it, see `coarsen`. */
  maxTopics: number;
  /** Filters always advertised, e.g. data an operator declares this broker offers. */
  filters: string[];
}

export const DEFAULT_TOPIC_SPACE_OPTIONS: Readonly<TopicSpaceOptions> = Object.freeze({
  idleMs: 10 * 60_000,
  maxTopics: 1000,
  filters: [],
});

const optionsSchema = z.object({
  idleMs: z.number().int().positive(),
  maxTopics: z.number().int().positive(),
  filters: z.array(topicFilterSchema),
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

/** Maps a topic to the advertised entry that stands for it. */
type Collapse = (topic: string) => string;

/** Keeps the first `depth` levels of a topic and stands for the rest with '#'. */
function collapseAt(depth: number): Collapse {
  return (topic) => {
    const levels = topic.split('/');
    return levels.length > depth ? `${levels.slice(0, depth).join('/')}/#` : topic;
  };
}

/**
 * Overflow strategy, INEXACT on purpose: over-claiming only makes a peer link and subscribe in
 * vain, while leaving a topic out would lose its data. Keep the deepest prefix depth whose
 * collapsed set fits the cap ('a/b/c', 'a/b/d' at depth 2 → 'a/b/#'); a topic that is itself a
 * prefix is dropped ('#' matches its parent level). If even depth 1 does not fit, advertise '#',
 * which covers every topic this tracker keeps. [design]
 */
function coarsen(topics: string[], cap: number): { entries: Set<string>; collapse: Collapse } {
  let deepest = 1;
  for (const topic of topics) deepest = Math.max(deepest, topic.split('/').length);
  for (let depth = deepest - 1; depth >= 1; depth--) {
    const collapse = collapseAt(depth);
    const entries = new Set(topics.map(collapse));
    for (const entry of entries) if (entries.has(`${entry}/#`)) entries.delete(entry);
    if (entries.size <= cap) return { entries, collapse };
  }
  return { entries: new Set(['#']), collapse: () => '#' };
}

export class TopicSpace {
  readonly #options: Readonly<TopicSpaceOptions>;
  /** Declared filters, minus those another declared filter covers. */
  readonly #declared: string[];
  readonly #seen = new Map<string, Seen>();
  /** Topics held for a retained message of a local client: advertised, never idle (`hold`). */
  readonly #held = new Set<string>();
  #advertised = new Set<string>();
  /** How the current advertisement collapses topics; undefined while it is exact. */
  #collapse: Collapse | undefined;
  #dirty = true;

  constructor(options: Partial<TopicSpaceOptions> = {}) {
    this.#options = Object.freeze(
      parseWith(optionsSchema, { ...DEFAULT_TOPIC_SPACE_OPTIONS, ...options }),
    );
    const filters = [...new Set(this.#options.filters)].sort();
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
    if (topic.startsWith('$') || !isValidTopicName(topic)) return;
    const covered = this.#declared.some((filter) => topicMatches(filter, topic));
    this.#seen.set(topic, { at: now, covered });
    // A topic already inside the inexact advertisement changes nothing until it is recomputed.
    if (!covered && !this.#advertised.has(this.#collapse?.(topic) ?? topic)) this.#dirty = true;
  }

  /**
   * `topic` holds (`held`) or no longer holds a retained message a local client published.
   * [design] While it does, it stays advertised whatever its idle time, so a broker that
   * subscribes to it long after the publish still finds this one and fetches the message. The
   * retained bounds bound how many there are; past `maxTopics` they are coarsened like the rest.
   */
  hold(topic: string, held: boolean): void {
    if (held) {
      if (this.#held.has(topic) || topic.startsWith('$') || !isValidTopicName(topic)) return;
      this.#held.add(topic);
    } else if (!this.#held.delete(topic)) {
      return;
    }
    if (!this.#declared.some((filter) => topicMatches(filter, topic))) this.#dirty = true;
  }

  /** Forgets topics idle for `idleMs` or longer; returns how many were forgotten. */
  expire(now: number): number {
    let expired = 0;
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
    const topics: string[] = [];
    for (const [topic, seen] of this.#seen) if (!seen.covered) topics.push(topic);
    for (const topic of this.#held) {
      if (this.#seen.has(topic)) continue;
      if (!this.#declared.some((filter) => topicMatches(filter, topic))) topics.push(topic);
    }
    this.#collapse = undefined;
    let entries: Iterable<string> = topics;
    if (topics.length > this.#options.maxTopics) {
      const coarse = coarsen(topics, this.#options.maxTopics);
      entries = coarse.entries;
      this.#collapse = coarse.collapse;
    }
    return new Set([...this.#declared, ...entries]);
  }

  /** The advertisement as of the last `takeDelta`, sorted: what to send whole on re-registering. */
  advertised(): string[] {
    return [...this.#advertised].sort();
  }

  /** False while the last advertisement over-claims because observed topics exceeded the cap. */
  get exact(): boolean {
    return this.#collapse === undefined;
  }

  /** Number of topics currently remembered (published within the idle period). */
  get size(): number {
    return this.#seen.size;
  }
}
