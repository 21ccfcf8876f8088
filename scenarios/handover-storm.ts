import { defineScenario } from '../harness/index.ts';

/**
 * Handover storm [design]: many clients move at the same moment, as when a crowd walks from one
 * cell into the next. Every mobile subscriber follows one shared trace: all on `a`, then all to
 * `b` at 8 s, then all to `c` at 16 s. The report's handover markers line up and the handover
 * gaps show how the federation copes with a burst of unsubscribes, resubscribes and new links.
 * - three brokers; 3 publishers, one per broker, 20 msg/s of 64 bytes on `storm/<i>`;
 * - 100 mobile subscribers to `storm/#`;
 * - 24 s after 2 s of warm-up; `--quick` moves at the same times, so it is the same run.
 */
const clients = Array.from({ length: 100 }, (_, index) => `crowd-${index}`);
const moveAll = (tMs: number, broker: string) => clients.map((client) => ({ tMs, client, broker }));

export default defineScenario({
  name: 'handover-storm',
  description: '100 subscribers move between brokers at the same moment, twice',
  brokers: ['a', 'b', 'c'],
  clients: {
    publishers: [
      {
        name: 'pub',
        count: 3,
        broker: ['a', 'b', 'c'],
        rate: 20,
        payloadBytes: 64,
        topics: ['storm/{i}'],
      },
    ],
    mobile: [
      {
        name: 'crowd',
        count: 100,
        brokers: ['a', 'b', 'c'],
        filters: ['storm/#'],
        mobility: {
          kind: 'trace',
          steps: [...moveAll(0, 'a'), ...moveAll(8_000, 'b'), ...moveAll(16_000, 'c')],
        },
        handoverWindowMs: 2_000,
      },
    ],
  },
  durationMs: 24_000,
  warmupMs: 2_000,
  seed: 5,
  variants: [{ name: 'mqfed' }],
  paper: { overhead: null, note: 'Not one of the paper’s experiments' },
});
