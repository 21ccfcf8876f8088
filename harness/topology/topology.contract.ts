import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { networkSchema } from '../network/network-spec.ts';
import type { Topology } from './topology.ts';

/** Resolves with the first message on `topic` while publishing on `publisher` until it comes. */
export async function firstDelivery(publisher: MqttClient, subscriber: MqttClient, topic: string) {
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

/** Whether `payload` reaches `subscriber` within `ms` (to show that it does not). */
function arrivesWithin(subscriber: MqttClient, payload: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      subscriber.off('message', listener);
      resolve(false);
    }, ms);
    const listener = (_topic: string, body: Buffer) => {
      if (body.toString() !== payload) return;
      clearTimeout(timer);
      subscriber.off('message', listener);
      resolve(true);
    };
    subscriber.on('message', listener);
  });
}

async function client(url: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0 });
}

/** What a topology may lack; the baseline of static Mosquitto bridges has neither. */
export interface TopologyCapabilities {
  /** `cutLinks`/`restoreLinks` on the federation's peer links. */
  linkCuts: boolean;
  /** A data directory per broker that survives its restart. */
  dataDirs: boolean;
}

/**
 * The contract every topology kind passes: written once, run against each kind (in-process,
 * processes, containers). `skip` leaves it out where the kind cannot run (no Docker engine);
 * the caller says so, and says which capabilities the kind lacks.
 */
export function topologyContract(
  label: string,
  make: () => Topology,
  skip = false,
  capabilities: TopologyCapabilities = { linkCuts: true, dataDirs: true },
): void {
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

    it.skipIf(!capabilities.linkCuts)(
      'cuts one broker’s peer links and restores them, while its MQTT clients stay connected',
      async () => {
        await using topology = await make().start({
          brokers: ['north', 'south'],
          cuttableLinks: true,
        });
        // Relays that delay nothing: the links are not impaired.
        expect(topology.impairment).toBe('none');
        const publisher = await client(topology.endpoint('north').mqttUrl);
        const subscriber = await client(topology.endpoint('south').mqttUrl);
        try {
          await subscriber.subscribeAsync('contract/#');
          await firstDelivery(publisher, subscriber, 'contract/cut');
          await topology.cutLinks?.('south');
          // Nothing crosses the cut link; the client on the cut-off broker keeps its connection.
          const crossed = arrivesWithin(subscriber, 'during the cut', 1_000);
          publisher.publish('contract/cut', 'during the cut');
          expect(await crossed).toBe(false);
          expect(subscriber.connected).toBe(true);
          expect(publisher.connected).toBe(true);
          await topology.restoreLinks?.('south');
          // The brokers link again on their own.
          expect(await firstDelivery(publisher, subscriber, 'contract/cut')).toBeTypeOf('string');
        } finally {
          await publisher.endAsync(true);
          await subscriber.endAsync(true);
        }
      },
    );

    it.skipIf(kind === 'containers' || !capabilities.dataDirs)(
      'keeps each broker’s data directory across its crash and restart, and removes it on close',
      async () => {
        const topology = await make().start({ brokers: ['north'] });
        try {
          const dir = topology.dataDir?.('north');
          expect(dir).toBeTypeOf('string');
          const kept = join(dir!, 'kept-by-the-contract-test');
          await writeFile(kept, 'still here');
          // A crash where the kind can make one (in-process brokers share the harness process).
          if (topology.kill !== undefined) await topology.kill('north');
          await topology.restart('north');
          expect(topology.dataDir?.('north')).toBe(dir);
          expect(existsSync(kept)).toBe(true);
          await topology.close();
          expect(existsSync(dir!)).toBe(false);
        } finally {
          await topology.close();
        }
      },
    );

    it('has no impairment and no proxy when no network is declared', async () => {
      await using topology = await make().start({ brokers: ['north'] });
      expect(topology.impairment).toBe('none');
      expect(topology.endpoint('north', 'anywhere').mqttUrl).toBe(
        topology.endpoint('north').mqttUrl,
      );
    });
  });
}
