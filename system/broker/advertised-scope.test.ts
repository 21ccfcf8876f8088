import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectClient, startTestFederation } from './broker.fixtures.ts';
import { discoveryReader } from './watch.fixtures.ts';

describe('what a broker advertises stays within its own pub scope', () => {
  it('a local client publishing outside the broker’s pub scope does not get the broker refused by discovery', async () => {
    await using federation = await startTestFederation({
      brokers: [],
      scopes: { pub: ['a/#'], sub: ['#'] },
    });
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (text: string) => lines.push(JSON.parse(text)) },
    );
    const broker = await federation.startBroker('b', { allowAnonymous: true, logger });
    const reader = await discoveryReader(federation);
    const topicsOf = async () =>
      (await reader.lookup()).find((record) => record.id === 'b')?.topics ?? [];
    await using client = await connectClient(broker.mqttUrl);
    await client.publish('x/1', 'outside', 1);
    await client.publish('a/1', 'inside', 1);
    await expect.poll(topicsOf).toEqual(['a/1']);
    const refused = lines.filter((line) => line.err !== undefined);
    expect(refused).toEqual([]);
  });
});
