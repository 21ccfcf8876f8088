import type { Aedes, Client } from 'aedes';
import type { InterestTable } from './interest-table.ts';

/** aedes grants this QoS to a subscription it refused. */
const REFUSED = 128;

/**
 * Feeds the interest table from the embedded broker's subscribe, unsubscribe and disconnect
 * events, counting each client's filter once however often it subscribes it again. Keyed by the
 * client object, not its id: on a session takeover the old client's disconnect must not take
 * away the new one's filters. `$SYS` filters are the broker's own and stay local. [design]
 */
export function trackLocalInterest(
  aedes: Aedes,
  interest: InterestTable,
  onEffectiveChange: () => void,
): void {
  const byClient = new Map<Client, Set<string>>();

  const add = (client: Client, filter: string): boolean => {
    let filters = byClient.get(client);
    if (filters === undefined) {
      filters = new Set();
      byClient.set(client, filters);
    }
    if (filters.has(filter)) return false;
    filters.add(filter);
    return changed(interest.add(filter));
  };
  const remove = (client: Client, filter: string): boolean => {
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
      any = add(client, topic) || any;
    }
    if (any) onEffectiveChange();
  });
  aedes.on('unsubscribe', (filters, client) => {
    let any = false;
    for (const filter of filters) any = remove(client, filter) || any;
    if (any) onEffectiveChange();
  });
  aedes.on('clientDisconnect', (client) => {
    let any = false;
    for (const filter of [...(byClient.get(client) ?? [])]) any = remove(client, filter) || any;
    if (any) onEffectiveChange();
  });
}

function changed(delta: { subscribe: string[]; unsubscribe: string[] }): boolean {
  return delta.subscribe.length > 0 || delta.unsubscribe.length > 0;
}
