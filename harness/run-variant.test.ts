import { connectAsync, type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { runScenario } from './run-scenario.ts';
import { defineScenario } from './scenario.ts';
import { inProcessTopology } from './topology/in-process.ts';
import type { StartedTopology, Topology } from './topology/topology.ts';
import { decodeMessage } from './workload/payload.ts';

/**
 * The in-process topology, with one more client on broker a that waits for message `seq` of
 * the run and publishes it once more: a real duplicate, through a real broker, of a message
 * every subscriber also got the first time.
 */
function withOneDuplicate(topic: string, seq: number): Topology {
  const inner = inProcessTopology();
  return {
    kind: inner.kind,
    async start(request) {
      const started = await inner.start(request);
      let spy: MqttClient | undefined;
      const close = async () => {
        await spy?.endAsync(true);
        await started.close();
      };
      try {
        spy = await connectAsync(started.endpoint('a').mqttUrl, { reconnectPeriod: 0 });
        let done = false;
        spy.on('message', (_topic, payload) => {
          const message = decodeMessage(payload);
          if (done || message === undefined || message.probe || message.seq !== seq) return;
          done = true;
          spy?.publish(topic, payload, { qos: 1 });
        });
        await spy.subscribeAsync(topic, { qos: 1 });
      } catch (error) {
        await close();
        throw error;
      }
      const wrapped: StartedTopology = { ...started, close, [Symbol.asyncDispose]: close };
      return wrapped;
    },
  };
}

/**
 * One QoS 1 publisher on a, 100 msg/s for 1.5 s (0.3 s warm-up), to a QoS 1 and a QoS 0
 * subscriber on a and a QoS 1 subscriber on b.
 */
const fanOut = defineScenario({
  name: 'delivery-accounting',
  brokers: ['a', 'b'],
  topology: 'in-process',
  clients: {
    publishers: [{ name: 'pub', broker: 'a', rate: 100, qos: 1, topics: ['acct/t'] }],
    subscribers: [
      { name: 'sub1', count: 2, broker: ['a', 'b'], qos: 1, filters: ['acct/#'] },
      { name: 'sub0', broker: 'a', qos: 0, filters: ['acct/t'] },
    ],
  },
  durationMs: 1_500,
  warmupMs: 300,
  drainMs: 500,
  variants: [{ name: 'mixed' }],
  paper: { overhead: null, note: 'a test' },
});

describe('a run’s delivery accounting', { timeout: 60_000 }, () => {
  it('adds up per QoS, and counts a message a subscriber got twice as a duplicate', async () => {
    // Message 100 is due 1 s into the schedule, well after the warm-up.
    const { results } = await runScenario(fanOut, {
      topology: withOneDuplicate('acct/t', 100),
      measureFloor: false,
    });
    const [variant] = results.variants;
    const rows = variant!.delivery!;
    expect(rows.map((row) => row.qos)).toEqual([0, 1]);
    const [qos0, qos1] = rows;
    // 150 scheduled, the first 30 in the warm-up: 120 handed over, each owed to every
    // subscriber (all acknowledged: the broker is up throughout).
    expect(qos1).toMatchObject({ sent: 120, acknowledged: 120, expected: 240 });
    expect(qos0).toMatchObject({ sent: 120, acknowledged: null, expected: 120 });
    for (const row of rows) {
      expect(row.delivered + row.lost).toBe(row.expected);
      expect(row.deliveredUnacknowledged).toBe(0);
    }
    // Within one broker nothing is lost on a quiet run.
    expect(qos0).toMatchObject({ delivered: 120, lost: 0 });
    // The copy, published on a, reached both subscribers there once more; whether a forwards
    // it to b too is the federation's business, and counts there if it does.
    const sameBroker = variant!.byPath!['same-broker'].duplicates;
    const crossBroker = variant!.byPath!['cross-broker'].duplicates;
    expect(sameBroker).toBe(2);
    expect(qos0!.duplicated).toBe(1);
    expect(qos1!.duplicated).toBe(1 + crossBroker);
    expect(variant!.duplicates).toBe(qos0!.duplicated + qos1!.duplicated);
    // The repetition keeps its own rows.
    expect(variant!.repetitions[0]!.delivery).toEqual(rows);
  });
});
