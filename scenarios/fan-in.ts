import { defineScenario } from '../harness/index.ts';

/**
 * Fan-in [design]: many publishers on every broker, one subscriber that wants all of it, like a
 * collector reading every sensor. Its broker links to every other broker and takes the sum of
 * their traffic.
 * - three brokers; 60 publishers, 20 per broker, each 5 msg/s of 64 bytes on `fanin/<i>`;
 * - one subscriber on `a` to `fanin/#`: 300 msg/s, two thirds of it across links;
 * - 30 s after 5 s of warm-up; `--quick`: 8 s after 2 s;
 * - the same load on one broker as the baseline.
 */
export default defineScenario({
  name: 'fan-in',
  description: '60 publishers on three brokers, one subscriber to all of them',
  brokers: ['a', 'b', 'c'],
  clients: {
    publishers: [
      {
        name: 'pub',
        count: 60,
        broker: ['a', 'b', 'c'],
        rate: 5,
        payloadBytes: 64,
        topics: ['fanin/{i}'],
      },
    ],
    subscribers: [{ name: 'collector', broker: 'a', filters: ['fanin/#'] }],
  },
  durationMs: 35_000,
  warmupMs: 5_000,
  seed: 4,
  variants: [{ name: 'mqfed' }, { name: 'single-broker', system: 'single-broker' }],
  compareVariants: ['mqfed'],
  repeat: 5,
  quick: { durationMs: 10_000, warmupMs: 2_000, repeat: 3 },
  paper: { overhead: null, note: 'Not one of the paper’s experiments' },
});
