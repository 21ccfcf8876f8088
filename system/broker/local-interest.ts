import type { Aedes, Client } from 'aedes';
import { filterCovers } from '../protocol/index.ts';
import type { InterestTable } from './interest-table.ts';

/** aedes grants this QoS to a subscription it refused. */
const REFUSED = 128;

/** A subscription of a stored persistent session (durable-persistence.ts). */
export interface PersistentSubscription {
  clientId: string;
  topic: string;
}

/**
 * Feeds the interest table from the embedded broker's subscribe, unsubscribe and disconnect
 * events, counting each session's filter once however often it subscribes it again. `$SYS`
 * filters are the broker's own and stay local. [design]
 * - A clean session is keyed by the client object, not its id: on a session takeover the old
 *   client's disconnect must not take away the new one's filters.
 * - A persistent session (clean-session false) is keyed by its client id and keeps its filters
 *   while the client is away: messages for it must still reach this broker, to be queued in the
 *   session. Sessions restored from the data directory are seeded with `persistent`. A clean
 *   connect with that id ends the session, and its filters go.
 */
export function trackLocalInterest(
  aedes: Aedes,
  interest: InterestTable,
  onEffectiveChange: () => void,
  persistent: readonly PersistentSubscription[] = [],
): SessionInterest {
  const byClient = new Map<Client | string, Set<string>>();
  /** When each active filter last became active: how long peers may have known it. */
  const activeSince = new Map<string, number>();
  const keyOf = (client: Client): Client | string => (client.clean ? client : client.id);
  const track = (filter: string) => {
    if (interest.refCount(filter) === 0) activeSince.delete(filter);
    else if (!activeSince.has(filter)) activeSince.set(filter, performance.now());
  };

  const add = (client: Client | string, filter: string): boolean => {
    let filters = byClient.get(client);
    if (filters === undefined) {
      filters = new Set();
      byClient.set(client, filters);
    }
    if (filters.has(filter)) return false;
    filters.add(filter);
    const delta = interest.add(filter);
    track(filter);
    return changed(delta);
  };
  const remove = (client: Client | string, filter: string): boolean => {
    const filters = byClient.get(client);
    if (filters?.delete(filter) !== true) return false;
    if (filters.size === 0) byClient.delete(client);
    const delta = interest.remove(filter);
    track(filter);
    return changed(delta);
  };

  aedes.on('subscribe', (subscriptions, client) => {
    let any = false;
    for (const { topic, qos } of subscriptions) {
      // aedes writes 128 into qos for a refused subscription, outside its declared QoS type.
      if ((qos as number) === REFUSED || topic.startsWith('$SYS')) continue;
      any = add(keyOf(client), topic) || any;
    }
    if (any) onEffectiveChange();
  });
  aedes.on('unsubscribe', (filters, client) => {
    let any = false;
    for (const filter of filters) any = remove(keyOf(client), filter) || any;
    if (any) onEffectiveChange();
  });
  const removeAll = (key: Client | string) => {
    let any = false;
    for (const filter of [...(byClient.get(key) ?? [])]) any = remove(key, filter) || any;
    if (any) onEffectiveChange();
  };
  aedes.on('clientDisconnect', (client) => {
    if (client.clean) removeAll(client);
  });
  aedes.on('client', (client) => {
    // A clean connect discards a stored session of the same id (aedes cleans its subscriptions).
    if (client.clean) removeAll(client.id);
  });
  for (const { clientId, topic } of persistent) {
    if (!topic.startsWith('$SYS')) add(clientId, topic);
  }
  return {
    adoptSession(clientId, filters) {
      let any = false;
      for (const filter of filters) {
        if (!filter.startsWith('$SYS')) any = add(clientId, filter) || any;
      }
      if (any) onEffectiveChange();
    },
    forgetSession: (clientId) => removeAll(clientId),
    wants: (topic) => interest.matches(topic),
    coveredFor(filters) {
      const now = performance.now();
      let shortest = Number.POSITIVE_INFINITY;
      for (const filter of filters) {
        let longest = -1;
        for (const [active, since] of activeSince) {
          if (filterCovers(active, filter)) longest = Math.max(longest, now - since);
        }
        shortest = Math.min(shortest, longest);
      }
      return Math.max(shortest, 0);
    },
  };
}

/**
 * Persistent sessions that arrive or leave without a SUBSCRIBE or a clean connect: moved here
 * from another broker (aedes restores their subscriptions without a `subscribe` event), or moved
 * away from here.
 */
export interface SessionInterest {
  adoptSession(clientId: string, filters: readonly string[]): void;
  forgetSession(clientId: string): void;
  /** Whether some local client's filter matches `topic`, so peers may send it here already. */
  wants(topic: string): boolean;
  /**
   * How long (ms) every one of `filters` has been covered by an active filter here without a
   * break: peers have had that long to learn this broker wants them. 0 if one is not covered.
   */
  coveredFor(filters: readonly string[]): number;
}

function changed(delta: { subscribe: string[]; unsubscribe: string[] }): boolean {
  return delta.subscribe.length > 0 || delta.unsubscribe.length > 0;
}
