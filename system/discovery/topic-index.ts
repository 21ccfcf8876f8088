import { LimitError, MqfedError } from '../protocol/index.ts';
import { createFilterMatcher, type FilterMatcher } from './filter-matcher.ts';

/** A change to a broker's advertised topic space: what to add and what to withdraw. */
export interface TopicDelta {
  add?: readonly string[];
  remove?: readonly string[];
}

/** What a delta really changed: entries already present are not added again, and so on. */
export interface AppliedDelta {
  added: string[];
  removed: string[];
}

/**
 * The advertised topic space of every broker: topics and topic filters, as the brokers sent them.
 * Entries are kept verbatim; `a/b` and `a/+` may both be present, because a broker may withdraw
 * either one later. [design] The directory keeps a second instance for each broker's interest
 * (the filters its clients subscribe): the same sets, deltas and caps, another meaning.
 *
 * Matching reads each of a broker's entries once against a `FilterMatcher` (a level trie of the
 * asked filters), so it costs entries × levels, not entries × filters. [design]
 */
export interface TopicIndex {
  /**
   * TOPIC_LIMIT_EXCEEDED when `replace` with these entries would go over the cap; changes
   * nothing, so a caller replacing sets in several indexes can check them all first.
   */
  checkReplace(topics: readonly string[]): void;
  /** Replaces a broker's whole set (registration). TOPIC_LIMIT_EXCEEDED over the cap. */
  replace(id: string, topics: readonly string[]): void;
  /**
   * Applies a delta atomically: removals first, then additions, all or nothing. An entry in both
   * lists is INVALID_REQUEST; a result over the cap is TOPIC_LIMIT_EXCEEDED and changes nothing.
   */
  apply(id: string, delta: TopicDelta): AppliedDelta;
  delete(id: string): void;
  /** A broker's entries, sorted. */
  topicsOf(id: string): string[];
  /** A broker's entries that share at least one topic name with one of the filters, sorted. */
  matching(id: string, filters: FilterMatcher): string[];
}

/** What a topic index is called in its refusals, and who is told of them. */
export interface TopicIndexNaming {
  /** What the index holds, in error messages: `interest filters`. */
  entries: string;
  /** The limit's name in a refusal's `limit` field (ErrorLimit): `interest`. */
  limitName: string;
  /** Told of every refusal for the cap (metrics). */
  onOverCap?: () => void;
}

export function createTopicIndex(
  maxTopicsPerBroker: number,
  naming: TopicIndexNaming = { entries: 'advertised entries', limitName: 'topics' },
): TopicIndex {
  const { entries, limitName, onOverCap } = naming;
  const sets = new Map<string, Set<string>>();
  const overCap = (count: number) => {
    onOverCap?.();
    return new LimitError(
      'TOPIC_LIMIT_EXCEEDED',
      `${count} ${entries} would exceed the limit of ${maxTopicsPerBroker}`,
      { name: limitName, max: maxTopicsPerBroker },
    );
  };
  const checkedSet = (topics: readonly string[]) => {
    const next = new Set(topics);
    if (next.size > maxTopicsPerBroker) throw overCap(next.size);
    return next;
  };

  return {
    checkReplace(topics) {
      checkedSet(topics);
    },
    replace(id, topics) {
      sets.set(id, checkedSet(topics));
    },
    apply(id, delta) {
      const add = new Set(delta.add);
      const remove = new Set(delta.remove);
      const both = [...add].filter((topic) => remove.has(topic));
      if (both.length > 0) {
        throw new MqfedError(
          'INVALID_REQUEST',
          `add and remove both list ${JSON.stringify(both.slice(0, 3))}`,
        );
      }
      const current = sets.get(id) ?? new Set<string>();
      const removed = [...remove].filter((topic) => current.has(topic));
      const added = [...add].filter((topic) => !current.has(topic));
      const size = current.size - removed.length + added.length;
      if (size > maxTopicsPerBroker) throw overCap(size);
      for (const topic of removed) current.delete(topic);
      for (const topic of added) current.add(topic);
      sets.set(id, current);
      return { added: added.sort(), removed: removed.sort() };
    },
    delete(id) {
      sets.delete(id);
    },
    topicsOf(id) {
      return [...(sets.get(id) ?? [])].sort();
    },
    matching(id, filters) {
      return filters.matching(sets.get(id) ?? []);
    },
  };
}

/** The entries that share at least one topic name with one of `filters`, sorted. */
export function matchingTopics(topics: Iterable<string>, filters: readonly string[]): string[] {
  return createFilterMatcher(filters).matching(topics);
}
