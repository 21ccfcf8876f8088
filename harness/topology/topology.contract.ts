import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { networkSchema } from '../network/network-spec.ts';
import type { Topology } from './topology.ts';

/** Resolves with the first message on `topic` while publishing on `publisher` until it comes. */
async function firstDelivery(publisher: MqttClient, subscriber: MqttClient, topic: string) {
  const arrived = new Promise<string>((resolve) =>
    subscriber.on('message', (_topic, payload) => resolve(payload.toString())),
  );
  // The subscribing broker links to the publisher's once its first publish is advertised.
  const timer = setInterval(() => publisher.publish(topic, 'probe'), 50);
  try {
    return await arrived;
  } finally {
    clearInterval(timer);
  }
}

async function client(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0 });
}

/**
 * The contract every topology kind passes: written once, run against each kind (in-process,
 * processes, containers). `skip` leaves it out where the kind cannot run (no Docker engine);
 * the caller says so.
 */
export function topologyContract(label: string, make: () => Topology, skip = false): void {
  const kind = make().kind;
  describe.skipIf(skip)(`the ${label} topology`, () => {
    it('starts the named brokers, and a publish on one reaches a subscriber on another', async () => {
      await using topology = await make().start({ brokers: ['north', 'south'] });
      expect(topology.kind).toBe(kind);
      expect(topology.brokers).toEqual(['north', 'south']);
      const north = topology.endpoint('north');
      // Loopback for processes; the container's own address on its network for containers.
      expect(north.mqttUrl).toMatch(/^mqtt:\/\/\d+\.\d+\.\d+\.\d+:\d+$/);
      const publisher = await client(north.mqttUrl);
      const subscriber = await client(topology.endpoint('south').mqttUrl);
      try {
        await subscriber.subscribeAsync('contract/#');
        expect(await firstDelivery(publisher, subscriber, 'contract/t')).toBe('probe');
      } finally {
        await publisher.endAsync(true);
        await subscriber.endAsync(true);
      }
    });

    it('stops and restarts one broker; the federation serves it again', async () => {
      await using topology = await make().start({ brokers: ['north', 'south'] });
      await topology.stop('south');
      expect(() => topology.endpoint('south')).toThrow(/stopped/);
      expect(() => topology.endpoint('west')).toThrow(/no broker/);
      await topology.restart('south');
      const publisher = await client(topology.endpoint('north').mqttUrl);
      const subscriber = await client(topology.endpoint('south').mqttUrl);
      try {
        await subscriber.subscribeAsync('contract/#');
        expect(await firstDelivery(publisher, subscriber, 'contract/again')).toBe('probe');
      } finally {
        await publisher.endAsync(true);
        await subscriber.endAsync(true);
      }
      await topology.close();
      await topology.close();
    });

    it('puts the declared delay on what crosses between hosts, and none on what stays', async () => {
      const network = networkSchema.parse({
        hosts: { 'north-host': ['north'], 'south-host': ['south'], clients: [] },
        defaultLink: { delayMs: 30 },
      });
      await using topology = await make().start({ brokers: ['north', 'south'], network });
      expect(topology.impairment).toBe('delay-proxy');
      const direct = topology.endpoint('south').mqttUrl;
      const acrossLink = topology.endpoint('south', 'clients').mqttUrl;
      expect(acrossLink).not.toBe(direct);
      expect(topology.endpoint('south', 'south-host').mqttUrl).toBe(direct);
      const publisher = await client(topology.endpoint('north').mqttUrl);
      const subscriber = await client(acrossLink);
      try {
        await subscriber.subscribeAsync('contract/#');
        await firstDelivery(publisher, subscriber, 'contract/delayed');
        // Now the route exists: one message crosses north → south (30 ms), then south → clients.
        const arrived = new Promise<number>((resolve) =>
          subscriber.on('message', (_topic, payload) => {
            if (payload.toString() === 'timed') resolve(performance.now());
          }),
        );
        const sent = performance.now();
        publisher.publish('contract/delayed', 'timed');
        // Timers have a 1 ms grain, so each of the two 30 ms links may come in a little short.
        expect((await arrived) - sent).toBeGreaterThanOrEqual(57);
      } finally {
        await publisher.endAsync(true);
        await subscriber.endAsync(true);
      }
    });

    it('has no impairment and no proxy when no network is declared', async () => {
      await using topology = await make().start({ brokers: ['north'] });
      expect(topology.impairment).toBe('none');
      expect(topology.endpoint('north', 'anywhere').mqttUrl).toBe(
        topology.endpoint('north').mqttUrl,
      );
    });
  });
}
