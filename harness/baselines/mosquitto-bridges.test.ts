import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { haveMosquitto } from './mosquitto.fixtures.ts';
import { startMosquittoBridges } from './mosquitto-bridges.ts';

describe.skipIf(!haveMosquitto)('the static-bridge baseline', () => {
  it('carries a publish between two spokes through the hub, once', async () => {
    await using bridges = await startMosquittoBridges({ brokers: ['hub', 'east', 'west'] });
    const subscriber = await mqtt.connectAsync(bridges.endpoints.get('west')!, {
      reconnectPeriod: 0,
    });
    const publisher = await mqtt.connectAsync(bridges.endpoints.get('east')!, {
      reconnectPeriod: 0,
    });
    try {
      const received: string[] = [];
      subscriber.on('message', (_topic, payload) => received.push(payload.toString()));
      await subscriber.subscribeAsync('plant/#');
      // The bridges connect on their own schedule: publish until the first message crosses.
      const first = new Promise<void>((resolve) => subscriber.once('message', () => resolve()));
      const timer = setInterval(() => publisher.publish('plant/probe', 'probe'), 50);
      await first;
      clearInterval(timer);
      const before = received.length;
      const last = new Promise<void>((resolve) =>
        subscriber.on('message', (_t, payload) => payload.toString() === 'end' && resolve()),
      );
      for (const word of ['a', 'b', 'c', 'end']) await publisher.publishAsync('plant/x', word);
      await last;
      expect(received.slice(before).filter((word) => word !== 'probe')).toEqual([
        'a',
        'b',
        'c',
        'end',
      ]);
    } finally {
      await publisher.endAsync(true);
      await subscriber.endAsync(true);
    }
  });
});
