import { describe, expect, it } from 'vitest';
import { connectMqtt } from '../workload/mqtt-connect.ts';
import { inProcessTopology } from './in-process.ts';
import { processesTopology } from './processes.ts';
import type { Topology } from './topology.ts';

describe.each([
  ['in-process', () => inProcessTopology()],
  ['processes', () => processesTopology()],
] as [string, () => Topology][])('a %s topology asked for TLS', (_kind, make) => {
  it('hands out mqtts:// endpoints naming the run CA, and delivers across brokers over them', async () => {
    await using topology = await make().start({ brokers: ['north', 'south'], tls: true });
    const north = topology.endpoint('north');
    const south = topology.endpoint('south');
    expect(north.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+\/?\?cafile=/);
    expect(north.httpUrl).toMatch(/^https:\/\//);
    const publisher = await connectMqtt(north.mqttUrl, 'tls-pub');
    const subscriber = await connectMqtt(south.mqttUrl, 'tls-sub');
    try {
      await subscriber.subscribeAsync('tls/#');
      const got = new Promise<string>((resolve) =>
        subscriber.on('message', (_topic, payload) => resolve(payload.toString())),
      );
      // Until the peer link is up the publishes reach nobody: repeat until one arrives.
      const timer = setInterval(() => void publisher.publishAsync('tls/t', 'over tls'), 100);
      try {
        expect(await got).toBe('over tls');
      } finally {
        clearInterval(timer);
      }
      expect((await topology.linkBytes?.())?.get('north')).toBeGreaterThan(0);
    } finally {
      await publisher.endAsync(true);
      await subscriber.endAsync(true);
    }
  });
});
