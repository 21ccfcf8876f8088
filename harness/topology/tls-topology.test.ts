import { describe, expect, it } from 'vitest';
import { expectDeliveryOverTls } from '../tls-delivery.fixtures.ts';
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
    expect(north.mqttUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+\/?\?cafile=/);
    expect(north.httpUrl).toMatch(/^https:\/\//);
    await expectDeliveryOverTls(topology, 'north', 'south', 'tls', 100);
  });
});
