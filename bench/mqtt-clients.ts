import type { MqttClient } from 'mqtt';
import { connectMqtt } from '../harness/index.ts';

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

export async function connectClients(urls: Record<keyof BenchClients, string>) {
  const entries = await Promise.all(
    Object.entries(urls).map(
      async ([role, url]) =>
        [role, await connectMqtt(url, `bench-${role}-${process.pid}`)] as const,
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
