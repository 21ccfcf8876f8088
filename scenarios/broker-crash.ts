import { defineScenario } from '../harness/index.ts';

/**
 * Broker crash [design]: one broker of three is killed mid-run (SIGKILL, or the container's
 * `docker kill`: no goodbye to discovery, links drop without a close frame) and started again
 * 10 s later. What it measures, in the report's outage table:
 * - delivery on the surviving paths (a ↔ c) while b is down: the federation should lose none;
 * - the messages to and from b's clients that were lost while it was down;
 * - the recovery time: from b being back until every path through it delivers again (its
 *   clients reconnect, re-subscribe, and a and c link to it again).
 * Workload: one publisher per broker at 20 msg/s (QoS 1, 64 bytes, `crash/<i>`), one subscriber
 * per broker to `crash/#`; clients reconnect 500 ms after losing their broker, as devices do.
 * 45 s after 5 s of warm-up: b is killed at 20 s and restarted at 30 s. `--quick` runs 15 s,
 * and the fault times scale with it (about 6.7 s and 10 s).
 */
export default defineScenario({
  name: 'broker-crash',
  description: 'One broker of three killed mid-run and restarted: loss, surviving paths, recovery',
  brokers: ['a', 'b', 'c'],
  // Separate hosts: containers where a Docker engine answers, else processes.
  topology: 'containers',
  clients: {
    publishers: [
      {
        name: 'pub',
        count: 3,
        broker: ['a', 'b', 'c'],
        rate: 20,
        qos: 1,
        payloadBytes: 64,
        topics: ['crash/{i}'],
      },
    ],
    subscribers: [{ name: 'sub', count: 3, broker: ['a', 'b', 'c'], qos: 1, filters: ['crash/#'] }],
  },
  faults: [
    { atMs: 20_000, broker: 'b', action: 'kill' },
    { atMs: 30_000, broker: 'b', action: 'restart' },
  ],
  clientReconnectMs: 500,
  durationMs: 45_000,
  warmupMs: 5_000,
  drainMs: 2_000,
  seed: 5,
  variants: [{ name: 'mqfed' }],
  quick: { durationMs: 15_000, warmupMs: 2_000 },
  paper: {
    overhead: null,
    note: 'The paper has no fault experiment; this one shows what a crash costs and how fast the federation recovers.',
  },
});
