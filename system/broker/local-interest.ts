import type { Aedes, Client } from 'aedes';
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
): void {
  const byClient = new Map<Client | string, Set<string>>();
  const keyOf = (client: Client): Client | string => (client.clean ? client : client.id);

  const add = (client: Client | string, filter: string): boolean => {
    let filters = byClient.get(client);
    if (filters === undefined) {
      filters = new Set();
      byClient.set(client, filters);
    }
    if (filters.has(filter)) return false;
    filters.add(filter);
    return changed(interest.add(filter));
  };
  const remove = (client: Client | string, filter: string): boolean => {
    const filters = byClient.get(client);
    if (filters?.delete(filter) !== true) return false;
    if (filters.size === 0) byClient.delete(client);
    return changed(interest.remove(filter));
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
}

function changed(delta: { subscribe: string[]; unsubscribe: string[] }): boolean {
  return delta.subscribe.length > 0 || delta.unsubscribe.length > 0;
}
