import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { inProcessTopology } from '../topology/in-process.ts';
import { encodeMessage, type HarnessMessage, nowMs } from './payload.ts';
import { SimulatedSubscriber } from './simulated-subscriber.ts';

describe('a simulated mobile subscriber', () => {
  it('records a move and its gap, and retries a move whose broker was down', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a', 'b'] });
    const url = (name: string) => topology.endpoint(name).mqttUrl;
    const received: HarnessMessage[] = [];
    const subscriber = new SimulatedSubscriber(
      { index: 0, id: 'm-0', filters: ['t/#'], qos: 0 },
      'a',
      (_index, message) => received.push(message),
      'test-',
    );
    await subscriber.connect(url('a'));
    expect(subscriber.connected).toBe(true);

    // b is down: the move is recorded, its connect fails, and the client is not connected.
    const bUrl = url('b');
    await topology.stop('b');
    await expect(subscriber.moveTo('b', bUrl)).rejects.toThrow();
    expect(subscriber.broker).toBe('b');
    expect(subscriber.connected).toBe(false);
    expect(subscriber.moves).toHaveLength(1);

    // b is back: asking for b again reconnects without counting a second move.
    await topology.restart('b');
    await subscriber.moveTo('b', url('b'));
    expect(subscriber.connected).toBe(true);
    expect(subscriber.moves).toHaveLength(1);
    const publisher = await connectAsync(url('b'), { reconnectPeriod: 0 });
    const message = { runId: 1, publisher: 0, seq: 0, probe: false, scheduledMs: nowMs() };
    await publisher.publishAsync('t/x', encodeMessage(message, 24));
    await expect.poll(() => received.length).toBe(1);
    const [move] = subscriber.moves;
    expect(move!.firstMessageMs! - move!.disconnectMs).toBeGreaterThan(0);
    expect(subscriber.brokerAt(move!.disconnectMs - 1)).toBe('a');
    expect(subscriber.brokerAt(move!.disconnectMs)).toBe('b');
    await publisher.endAsync(true);
    await subscriber.close();
  });
});
