import type { Socket } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';
import { caOfBrokerUrl } from '../broker-url.ts';

/**
 * Connects one simulated client with MQTT.js (MQTT 3.1.1, clean session unless `persistent`).
 * [design] No automatic reconnect by default: a client that reconnected behind our back would
 * hide a broken connection as plain loss; mobile clients reconnect explicitly, and their gap is
 * measured. Fault scenarios ask for `reconnectMs`, as devices reconnect to a broker that crashed;
 * QoS 0 messages are then not queued while offline (they are lost, as on a device), QoS 1 ones
 * are: MQTT.js keeps every QoS 1 publish in its outgoing store until its PUBACK and sends the
 * store again on each reconnect, clean session or not (mqtt 5, `_onConnect`), which is the
 * publisher's half of at-least-once.
 * A `persistent` client (`clean: false`, the subscribers of QoS 1 variants) is the other half:
 * the broker keeps its session while it is away and delivers what was queued for it when it
 * comes back; should the broker have lost the session (no data directory), MQTT.js sees no
 * session in the CONNACK and subscribes again by itself.
 */
export async function connectMqtt(
  url: string,
  clientId: string,
  reconnectMs?: number,
  persistent = false,
): Promise<MqttClient> {
  // An mqtts:// URL may name its CA file (broker-url.ts).
  const trusted = caOfBrokerUrl(url);
  const client = await connectAsync(trusted.url, {
    ...(trusted.ca === undefined ? {} : { ca: trusted.ca }),
    clientId,
    clean: !persistent,
    protocolVersion: 4,
    reconnectPeriod: reconnectMs ?? 0,
    queueQoSZero: false,
    connectTimeout: 10_000,
  });
  // Errors after connecting (a broker stopped mid-run) show as loss and in `connected`.
  client.on('error', () => {});
  // [design] MQTT.js leaves Nagle on; small publishes would then wait for the broker's delayed
  // ACK, and that wait would be measured as broker delay.
  (client.stream as Socket).setNoDelay?.(true);
  return client;
}

/** Runs `task` over `items`, at most `limit` at a time: thousands of connects without a storm. */
export async function inBatches<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
