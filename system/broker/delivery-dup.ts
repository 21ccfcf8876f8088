import type { Client } from 'aedes';

/**
 * The DUP flag of one delivery to one client. [design] DUP says "you may have had this one":
 * set for a peer's resend (delivered but not yet acknowledged when its link or process died)
 * and, by the session handover, for deliveries to a session that just moved. MQTT wants DUP 0
 * at QoS 0, and aedes downgrades a delivery to the subscription's QoS after this hook, so a
 * client with a QoS 0 subscription gets no DUP. Allocates only when the flag changes.
 */
export function deliveryDup<P extends { qos: number; dup?: boolean }>(
  client: Client,
  packet: P,
  mayRepeat: boolean,
): P {
  const had = packet.dup === true;
  if (!had && !mayRepeat) return packet;
  const dup = packet.qos > 0 && !hasQos0Subscription(client);
  return dup === had ? packet : { ...packet, dup };
}

function hasQos0Subscription(client: Client): boolean {
  const { subscriptions } = client as unknown as {
    subscriptions: Record<string, { qos?: number } | undefined>;
  };
  for (const filter in subscriptions) if ((subscriptions[filter]?.qos ?? 0) === 0) return true;
  return false;
}
