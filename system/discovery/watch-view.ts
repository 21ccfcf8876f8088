import type { BrokerRecord, DirectoryChange } from './broker-directory.ts';
import { createFilterMatcher, type FilterMatcher } from './filter-matcher.ts';
import type { WatchEvent, WatchLeaveReason } from './watch-frames.ts';

/** What a watch selects: the brokers that have data for it, or whose clients want its data. */
export interface WatchSelection {
  /** A broker with a topic matching one of these is in the view. */
  readonly filters: readonly string[];
  /** A broker with an interest filter intersecting one of these is in the view too. */
  readonly interestFilters: readonly string[];
}

/**
 * What one watch sees: the live brokers with topics matching its filters or interest
 * intersecting its interest filters, and only those topics and that interest. It turns each
 * directory change into the events that move the watcher's copy of the view along, and nothing
 * for a change the watch cannot see.
 *
 * Keeping the matched entries per broker makes a delta cost O(delta × levels), never a rescan of
 * the broker's whole topic set or interest: a delta to a broker outside the view can only bring
 * it in through what it adds, since nothing else of it matched. Each entry is read once against
 * a trie of the watch's filters (filter-matcher.ts), so the number of filters does not multiply
 * the cost. [design]
 */
export interface WatchView {
  readonly id: string;
  readonly selection: WatchSelection;
  /** The view now, as the snapshot event that starts a watch. */
  snapshot(): WatchEvent;
  apply(change: DirectoryChange): WatchEvent[];
}

/** The two sets a broker advertises; a watch matches each against its own filters. */
type Space = 'topics' | 'interest';

interface Seen {
  /** The record without its sets, as of the broker's last registration. */
  base: Omit<BrokerRecord, Space>;
  topics: Set<string>;
  interest: Set<string>;
}

export function createWatchView(
  id: string,
  selection: WatchSelection,
  brokers: readonly BrokerRecord[],
): WatchView {
  const filtersOf: Record<Space, FilterMatcher> = {
    topics: createFilterMatcher(selection.filters),
    interest: createFilterMatcher(selection.interestFilters),
  };
  const view = new Map<string, Seen>();

  const enter = (broker: BrokerRecord, topics: string[], interest: string[]): WatchEvent => {
    // Only the fixed fields are read: `broker.topics` and `broker.interest` may be whole sets.
    const base = { id: broker.id, linkUrl: broker.linkUrl, leaseExpiresAt: broker.leaseExpiresAt };
    view.set(broker.id, { base, topics: new Set(topics), interest: new Set(interest) });
    return { type: 'joined', id, broker: { ...base, topics, interest } };
  };
  const leave = (brokerId: string, reason: WatchLeaveReason): WatchEvent => {
    view.delete(brokerId);
    return { type: 'left', id, brokerId, reason };
  };
  /** A whole registration: the only change that is matched in full. */
  const registered = (broker: BrokerRecord): WatchEvent[] => {
    const topics = filtersOf.topics.matching(broker.topics);
    const interest = filtersOf.interest.matching(broker.interest);
    if (topics.length > 0 || interest.length > 0) return [enter(broker, topics, interest)];
    return view.has(broker.id) ? [leave(broker.id, 'withdrawn')] : [];
  };
  const deltaEvent = (
    space: Space,
    direction: 'added' | 'removed',
    brokerId: string,
    entries: string[],
  ): WatchEvent =>
    space === 'topics'
      ? { type: `topics-${direction}`, id, brokerId, topics: entries }
      : { type: `interest-${direction}`, id, brokerId, interest: entries };
  const changed = (
    space: Space,
    broker: BrokerRecord,
    added: string[],
    removed: string[],
  ): WatchEvent[] => {
    const newlyMatched = filtersOf[space].matching(added);
    const seen = view.get(broker.id);
    if (seen === undefined) {
      if (newlyMatched.length === 0) return [];
      // Outside the view nothing of the broker matched, so the other set has no match either.
      return [
        space === 'topics' ? enter(broker, newlyMatched, []) : enter(broker, [], newlyMatched),
      ];
    }
    const matched = seen[space];
    const withdrawn = removed.filter((entry) => matched.has(entry));
    for (const entry of withdrawn) matched.delete(entry);
    for (const entry of newlyMatched) matched.add(entry);
    if (seen.topics.size === 0 && seen.interest.size === 0) {
      return [leave(broker.id, 'withdrawn')];
    }
    const events: WatchEvent[] = [];
    if (newlyMatched.length > 0) events.push(deltaEvent(space, 'added', broker.id, newlyMatched));
    if (withdrawn.length > 0) events.push(deltaEvent(space, 'removed', broker.id, withdrawn));
    return events;
  };

  for (const broker of brokers) registered(broker);

  return {
    id,
    selection,
    snapshot() {
      const sorted = [...view.values()].sort((a, b) => (a.base.id < b.base.id ? -1 : 1));
      const brokers = sorted.map((seen) => ({
        ...seen.base,
        topics: [...seen.topics].sort(),
        interest: [...seen.interest].sort(),
      }));
      return { type: 'snapshot', id, brokers };
    },
    apply(change) {
      switch (change.type) {
        case 'registered':
          return registered(change.broker);
        case 'topics-changed':
          return changed('topics', change.broker, change.added, change.removed);
        case 'interest-changed':
          return changed('interest', change.broker, change.added, change.removed);
        case 'left':
          return view.has(change.broker.id) ? [leave(change.broker.id, change.reason)] : [];
      }
    },
  };
}
