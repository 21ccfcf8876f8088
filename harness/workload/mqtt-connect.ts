import type { Socket } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';

/**
 * Connects one simulated client with MQTT.js (MQTT 3.1.1, clean session).
 * [design] No automatic reconnect: a client that reconnected behind our back would hide a broken
 * connection as plain loss; mobile clients reconnect explicitly, and their gap is measured.
 */
export async function connectMqtt(url: string, clientId: string): Promise<MqttClient> {
  const client = await connectAsync(url, {
    clientId,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
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
