import { defineScenario } from '../harness/index.ts';

/**
 * Crowd [design]: 5,000 simulated clients driven by one harness process, the scale the testbed
 * promises. Many small, slow clients, as a city of sensors and phones would be:
 * - three brokers; 1,000 publishers, one message per second each (64 bytes) on `crowd/<i>`,
 *   spread round-robin over the brokers;
 * - 4,000 subscribers in four groups of 1,000; subscriber i of every group follows `crowd/<i>`,
 *   so each message reaches four subscribers. The groups start on different brokers, so some
 *   deliveries stay on the publisher's broker and most cross a link;
 * - 5,000 MQTT connections, 1,000 publishes and 4,000 deliveries a second;
 * - 30 s after a 5 s warm-up; `--quick`: 12 s after 3 s.
 */
const subscriberGroup = (name: string, brokers: string[]) => ({
  name,
  count: 1_000,
  broker: brokers,
  filters: ['crowd/{i}'],
});

export default defineScenario({
  name: 'crowd',
  description: '5,000 clients from one harness process: 1,000 publishers and 4,000 subscribers',
  brokers: ['a', 'b', 'c'],
  clients: {
    publishers: [
      {
        name: 'pub',
        count: 1_000,
        broker: ['a', 'b', 'c'],
        rate: 1,
        payloadBytes: 64,
        topics: ['crowd/{i}'],
      },
    ],
    subscribers: [
      subscriberGroup('sub-w', ['a', 'b', 'c']),
      subscriberGroup('sub-x', ['b', 'c', 'a']),
      subscriberGroup('sub-y', ['c', 'a', 'b']),
      subscriberGroup('sub-z', ['b', 'a', 'c']),
    ],
  },
  durationMs: 35_000,
  warmupMs: 5_000,
  drainMs: 2_000,
  seed: 4,
  variants: [{ name: 'mqfed' }],
  quick: { durationMs: 15_000, warmupMs: 3_000 },
  paper: { overhead: null, note: 'Not one of the paper’s experiments' },
});
