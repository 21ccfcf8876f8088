import type { Clock } from '../common/index.ts';
import { MqfedError } from '../protocol/index.ts';
import { createFilterMatcher } from './filter-matcher.ts';
import { createLeaseTable } from './lease-table.ts';
import { createTopicIndex, type TopicDelta, type TopicIndex } from './topic-index.ts';

/** A live broker service as discovery knows it. */
export interface BrokerRecord {
  id: string;
  /** Where its peer-link server listens (ws:// or wss://). */
  linkUrl: string;
  /** Its advertised topics and filters, sorted; in a lookup or watch, only the matching ones. */
  topics: string[];
  /**
   * The filters its clients subscribe, sorted; in a lookup or watch, only the matching ones.
   * [design] A publishing broker watches these to know whom a new topic concerns before any
   * link to that peer exists.
   */
  interest: string[];
  /** When its lease runs out unless renewed, epoch milliseconds. */
  leaseExpiresAt: number;
}

export type LeaveReason = 'expired' | 'deregistered' | 'revoked';

/** What changed in the directory; the watch fan-out turns these into watch events. */
export type DirectoryChange =
  | { type: 'registered'; broker: BrokerRecord; previous: BrokerRecord | undefined }
  | { type: 'topics-changed'; broker: BrokerRecord; added: string[]; removed: string[] }
  | { type: 'interest-changed'; broker: BrokerRecord; added: string[]; removed: string[] }
  | { type: 'left'; broker: BrokerRecord; reason: LeaveReason };

export interface RegisterInput {
  id: string;
  linkUrl: string;
  ttlMs: number;
  topics: readonly string[];
  /** The interest filters; none when absent. */
  interest?: readonly string[];
}

export interface BrokerDirectoryOptions {
  clock: Clock;
  maxTopicsPerBroker: number;
  /** Most interest filters per broker; `maxTopicsPerBroker` when absent. */
  maxInterestPerBroker?: number;
  /** Told when a registration or delta is refused for going over a cap (metrics). */
  onLimit?: (limit: 'topics_per_broker' | 'interest_per_broker') => void;
  /** Called synchronously on every change, so watchers hear of it with no delay. */
  onChange: (change: DirectoryChange) => void;
}

export interface BrokerDirectory {
  /**
   * Registers a broker, or replaces a live registration of the same id: the new link URL, lease
   * lifetime, topic set and interest replace the old ones entirely, nothing is merged. [design]
   * A broker registers again after a restart or a lost lease, and its old state is then stale.
   */
  register(input: RegisterInput): { broker: BrokerRecord; replaced: boolean };
  /** LEASE_NOT_FOUND when the lease ran out or never existed; the broker registers again. */
  renew(id: string): BrokerRecord;
  /** LEASE_NOT_FOUND when there is nothing to deregister. */
  deregister(id: string): void;
  /**
   * Drops the registration of a broker whose tokens were revoked (its lease ends at once and
   * watchers see it leave with reason `revoked`); false when it had none.
   */
  evict(id: string): boolean;
  /** LEASE_NOT_FOUND, TOPIC_LIMIT_EXCEEDED, or INVALID_REQUEST (an entry in add and remove). */
  advertise(id: string, delta: TopicDelta): BrokerRecord;
  /** Changes a broker's interest filters; fails like `advertise`. */
  advertiseInterest(id: string, delta: TopicDelta): BrokerRecord;
  /** Live brokers, each with all its topics and interest. */
  list(): BrokerRecord[];
  /** The peer-link URL of broker `id` while its lease lives; undefined otherwise. */
  linkUrlOf(id: string): string | undefined;
  /**
   * Live brokers with a topic matching `filter`, each with only the matching topics and only the
   * interest filters that intersect `filter`.
   */
  lookup(filter: string): BrokerRecord[];
  /** `lookup` of several filters at once. */
  lookupAny(filters: readonly string[]): BrokerRecord[];
  readonly size: number;
  close(): void;
}

interface Entry {
  id: string;
  linkUrl: string;
}

export function createBrokerDirectory(options: BrokerDirectoryOptions): BrokerDirectory {
  const { clock, onChange } = options;
  const entries = new Map<string, Entry>();
  const topics = createTopicIndex(options.maxTopicsPerBroker, {
    entries: 'advertised entries',
    limitName: 'topics',
    onOverCap: () => options.onLimit?.('topics_per_broker'),
  });
  const interest = createTopicIndex(options.maxInterestPerBroker ?? options.maxTopicsPerBroker, {
    entries: 'interest filters',
    limitName: 'interest',
    onOverCap: () => options.onLimit?.('interest_per_broker'),
  });
  const leases = createLeaseTable({ clock, onExpire: (id) => leave(id, 'expired') });

  const recordOf = (
    entry: Entry,
    topicList = topics.topicsOf(entry.id),
    interestList = interest.topicsOf(entry.id),
  ): BrokerRecord => ({
    id: entry.id,
    linkUrl: entry.linkUrl,
    topics: topicList,
    interest: interestList,
    leaseExpiresAt: leases.get(entry.id)?.expiresAt ?? clock.now(),
  });
  const liveEntry = (id: string): Entry => {
    const entry = entries.get(id);
    // Asking the lease table also expires a lease whose timer has not fired yet.
    if (entry === undefined || leases.get(id) === undefined) {
      throw new MqfedError('LEASE_NOT_FOUND', `no live lease for ${id}; register again`);
    }
    return entry;
  };
  function leave(id: string, reason: LeaveReason): void {
    const entry = entries.get(id);
    if (entry === undefined) return;
    const broker = recordOf(entry);
    entries.delete(id);
    topics.delete(id);
    interest.delete(id);
    leases.revoke(id);
    onChange({ type: 'left', broker, reason });
  }
  const live = (): Entry[] => {
    leases.expireDue();
    return [...entries.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  };
  const lookupAny = (filters: readonly string[]): BrokerRecord[] => {
    const matcher = createFilterMatcher(filters);
    return live()
      .map((entry) =>
        recordOf(entry, topics.matching(entry.id, matcher), interest.matching(entry.id, matcher)),
      )
      .filter((broker) => broker.topics.length > 0);
  };
  /** One delta to one of the two indexes, told to watchers only when it changed something. */
  const change = (
    id: string,
    index: TopicIndex,
    delta: TopicDelta,
    type: 'topics-changed' | 'interest-changed',
  ) => {
    const entry = liveEntry(id);
    const { added, removed } = index.apply(id, delta);
    const broker = recordOf(entry);
    if (added.length > 0 || removed.length > 0) onChange({ type, broker, added, removed });
    return broker;
  };

  return {
    register(input) {
      leases.expireDue();
      const old = entries.get(input.id);
      const previous = old === undefined ? undefined : recordOf(old);
      const interestList = input.interest ?? [];
      // Both sizes are validated before anything changes.
      topics.checkReplace(input.topics);
      interest.checkReplace(interestList);
      topics.replace(input.id, input.topics);
      interest.replace(input.id, interestList);
      const entry = { id: input.id, linkUrl: input.linkUrl };
      entries.set(input.id, entry);
      leases.grant(input.id, input.ttlMs);
      const broker = recordOf(entry);
      onChange({ type: 'registered', broker, previous });
      return { broker, replaced: previous !== undefined };
    },
    renew(id) {
      const entry = liveEntry(id);
      leases.renew(id);
      return recordOf(entry);
    },
    deregister(id) {
      liveEntry(id);
      leave(id, 'deregistered');
    },
    evict(id) {
      if (!entries.has(id)) return false;
      leave(id, 'revoked');
      return true;
    },
    advertise: (id, delta) => change(id, topics, delta, 'topics-changed'),
    advertiseInterest: (id, delta) => change(id, interest, delta, 'interest-changed'),
    list: () => live().map((entry) => recordOf(entry)),
    linkUrlOf: (id) => (leases.get(id) === undefined ? undefined : entries.get(id)?.linkUrl),
    lookup: (filter) => lookupAny([filter]),
    lookupAny,
    get size() {
      return entries.size;
    },
    close() {
      leases.close();
      entries.clear();
    },
  };
}
