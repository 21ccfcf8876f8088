import type { Socket } from 'node:net';
import { connectAsync, type MqttClient } from 'mqtt';

/** The MQTT.js clients of the bench, one connection each, all in the bench process (one clock). */
export interface BenchClients {
  /** Publishes on broker A, for every path. */
  publisher: MqttClient;
  /** Subscribes on A: the same-broker path. */
  same: MqttClient;
  /** Subscribes on B: across the peer link. */
  cross: MqttClient;
  /** Subscribes on A through the TCP relay: the extra-hop floor. */
  relay: MqttClient;
}

export type PathName = 'same' | 'cross' | 'relay';

/**
 * Connects one client. [design] No automatic reconnect: a client that silently reconnected
 * mid-run would turn a broken connection into plain loss; a lost connection fails the bench.
 */
export async function connectClient(url: string, clientId: string): Promise<MqttClient> {
  const client = await connectAsync(url, {
    clientId,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
  client.on('error', () => {});
  // [design] MQTT.js leaves Nagle on; with it a publisher's small writes wait for the broker's
  // delayed ACK (tens of ms at a few thousand msg/s), which would be measured as broker delay.
  // Mosquitto's clients turn it off too.
  (client.stream as Socket).setNoDelay?.(true);
  return client;
}

export async function connectClients(urls: Record<keyof BenchClients, string>) {
  const entries = await Promise.all(
    Object.entries(urls).map(
      async ([role, url]) =>
        [role, await connectClient(url, `bench-${role}-${process.pid}`)] as const,
    ),
  );
  return Object.fromEntries(entries) as unknown as BenchClients;
}

/** Throws if any client has lost its connection: the run's counts would not mean anything. */
export function assertConnected(clients: BenchClients): void {
  for (const [role, client] of Object.entries(clients)) {
    if (!client.connected) throw new Error(`the ${role} client lost its connection`);
  }
}

export async function closeClients(clients: BenchClients | undefined): Promise<void> {
  if (clients === undefined) return;
  await Promise.all(Object.values(clients).map((client) => client.endAsync(true)));
}
