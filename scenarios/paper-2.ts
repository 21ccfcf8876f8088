import { defineScenario } from '../harness/index.ts';

/**
 * Paper scenario 2 [paper]: one machine, synthetic load, many publishers and subscribers on
 * several brokers, with subscribers that move between brokers. The paper reports about 50 %
 * overhead for deliveries that cross brokers.
 *
 * Parameters (ours [design]; the paper does not give its own):
 * - three brokers `a`, `b`, `c`;
 * - 6 publishers, two per broker, each 20 msg/s of 64 bytes on its own topic `paper2/<i>`;
 * - 6 fixed subscribers, two per broker, each subscribed to `paper2/#`: every message reaches
 *   every subscriber, a third of them on the publisher's broker and two thirds across a link;
 * - 6 mobile subscribers (`paper2/#` too) moving round-robin a → b → c every 10 s, staggered so
 *   one of them moves every 1.7 s or so; a delivery scheduled within 1 s of a move counts in the
 *   handover phase, and the overhead is computed from steady-phase deliveries only;
 * - 1,440 deliveries/s in all, light for one machine, so the delay is the path's, not a queue's;
 * - 60 s after a 5 s warm-up; `--quick`: 12 s after 2 s;
 * - `mqfed qos1` runs the same at QoS 1 (the paper measured both QoS levels): its delivery
 *   table shows what at-least-once keeps across the moves; the fixed subscribers keep
 *   persistent sessions, the mobile ones a clean session per broker, as phones do. The overhead
 *   is computed from `mqfed` (QoS 0) alone, so it stays comparable with earlier runs;
 * - a third variant runs the same load on one broker (every client on `a`): the baseline.
 */
export default defineScenario({
  name: 'paper-2',
  description:
    'Many publishers and subscribers on three brokers, with subscribers moving round-robin between brokers',
  brokers: ['a', 'b', 'c'],
  clients: {
    publishers: [
      {
        name: 'pub',
        count: 6,
        broker: ['a', 'b', 'c'],
        rate: 20,
        payloadBytes: 64,
        topics: ['paper2/{i}'],
      },
    ],
    subscribers: [{ name: 'sub', count: 6, broker: ['a', 'b', 'c'], filters: ['paper2/#'] }],
    mobile: [
      {
        name: 'mobile',
        count: 6,
        brokers: ['a', 'b', 'c'],
        filters: ['paper2/#'],
        mobility: { kind: 'round-robin', dwellMs: 10_000 },
        handoverWindowMs: 1_000,
      },
    ],
  },
  durationMs: 65_000,
  warmupMs: 5_000,
  drainMs: 1_000,
  seed: 2,
  variants: [
    { name: 'mqfed' },
    { name: 'mqfed qos1', qos: 1 },
    { name: 'single-broker', system: 'single-broker' },
  ],
  compareVariants: ['mqfed'],
  repeat: 5,
  quick: { durationMs: 14_000, warmupMs: 2_000, repeat: 3 },
  paper: {
    overhead: 0.5,
    note: 'Paper, scenario 2 (one machine, synthetic, mobile subscribers): about 50 % more delay across brokers',
  },
});
