import { defineScenario } from '../harness/index.ts';

/**
 * Fan-out [design]: one publisher, many subscribers spread over every broker. What one message
 * costs when the federation must copy it to every broker: each remote broker gets it once over its
 * link, then delivers it to its own subscribers.
 * - three brokers; one publisher on `a`, 10 msg/s of 256 bytes;
 * - 60 subscribers to `fanout/#`, 20 per broker: a third same-broker, two thirds across links;
 * - 30 s after 5 s of warm-up; `--quick`: 8 s after 2 s;
 * - the same load on one broker as the baseline.
 */
export default defineScenario({
  name: 'fan-out',
  description: 'One publisher, 60 subscribers on three brokers',
  brokers: ['a', 'b', 'c'],
  clients: {
    publishers: [{ name: 'pub', broker: 'a', rate: 10, payloadBytes: 256, topics: ['fanout/t'] }],
    subscribers: [{ name: 'sub', count: 60, broker: ['a', 'b', 'c'], filters: ['fanout/#'] }],
  },
  durationMs: 35_000,
  warmupMs: 5_000,
  seed: 3,
  variants: [{ name: 'mqfed' }, { name: 'single-broker', system: 'single-broker' }],
  compareVariants: ['mqfed'],
  repeat: 5,
  quick: { durationMs: 10_000, warmupMs: 2_000, repeat: 3 },
  paper: { overhead: null, note: 'Not one of the paper’s experiments' },
});
