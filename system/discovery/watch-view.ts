import type { BrokerRecord, DirectoryChange } from './broker-directory.ts';
import { matchingTopics } from './topic-index.ts';
import type { WatchEvent } from './watch-frames.ts';

/**
 * What one watch sees: the live brokers with topics matching its filters, and those topics. It
 * turns each directory change into the events that move the watcher's copy of the view along,
 * and nothing for a change the watch cannot see (a topic that matches none of its filters).
 *
 * Keeping the matched topics per broker makes a delta cost O(delta × filters), never a rescan of
 * the broker's whole topic set. [design]
 */
export interface WatchView {
  readonly id: string;
  readonly filters: readonly string[];
  /** The view now, as the snapshot event that starts a watch. */
  snapshot(): WatchEvent;
  apply(change: DirectoryChange): WatchEvent[];
}

export function createWatchView(
  id: string,
  filters: readonly string[],
  brokers: readonly BrokerRecord[],
): WatchView {
  const view = new Map<string, Set<string>>();
  const records = new Map<string, BrokerRecord>();
  const enter = (broker: BrokerRecord, matched: string[]): WatchEvent => {
    view.set(broker.id, new Set(matched));
    records.set(broker.id, { ...broker, topics: matched });
    return { type: 'joined', id, broker: { ...broker, topics: matched } };
  };
  const leave = (brokerId: string, reason: 'expired' | 'deregistered' | 'withdrawn') => {
    view.delete(brokerId);
    records.delete(brokerId);
    return { type: 'left', id, brokerId, reason } as const;
  };
  for (const broker of brokers) {
    const matched = matchingTopics(broker.topics, filters);
    if (matched.length > 0) enter(broker, matched);
  }

  const topicsChanged = (broker: BrokerRecord, added: string[], removed: string[]) => {
    const seen = view.get(broker.id);
    const newlyMatched = matchingTopics(added, filters);
    if (seen === undefined) {
      return newlyMatched.length > 0 ? [enter(broker, newlyMatched)] : [];
    }
    const withdrawn = removed.filter((topic) => seen.has(topic));
    for (const topic of withdrawn) seen.delete(topic);
    for (const topic of newlyMatched) seen.add(topic);
    if (seen.size === 0) return [leave(broker.id, 'withdrawn')];
    const record = records.get(broker.id);
    if (record !== undefined) record.topics = [...seen].sort();
    const events: WatchEvent[] = [];
    if (newlyMatched.length > 0) {
      events.push({ type: 'topics-added', id, brokerId: broker.id, topics: newlyMatched });
    }
    if (withdrawn.length > 0) {
      events.push({ type: 'topics-removed', id, brokerId: broker.id, topics: withdrawn });
    }
    return events;
  };

  return {
    id,
    filters,
    snapshot() {
      const sorted = [...records.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
      return { type: 'snapshot', id, brokers: sorted.map((broker) => ({ ...broker })) };
    },
    apply(change) {
      switch (change.type) {
        case 'registered': {
          const matched = matchingTopics(change.broker.topics, filters);
          if (matched.length > 0) return [enter(change.broker, matched)];
          return view.has(change.broker.id) ? [leave(change.broker.id, 'withdrawn')] : [];
        }
        case 'topics-changed':
          return topicsChanged(change.broker, change.added, change.removed);
        case 'left':
          return view.has(change.broker.id) ? [leave(change.broker.id, change.reason)] : [];
      }
    },
  };
}
