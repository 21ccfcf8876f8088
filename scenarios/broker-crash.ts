import { defineScenario } from '../harness/index.ts';

/**
 * Broker crash [design]: brokers of three are killed mid-run (SIGKILL, or the container's
 * `docker kill`: no goodbye to discovery, links drop without a close frame) and started again
 * 7 s later: first `b`, then `c`. Each crashed broker both publishes to the others' subscribers
 * and subscribes to their publishers, so a crash hits both ends of the federation. What it
 * measures, in the report's outage and delivery tables:
 * - delivery on the surviving paths while a broker is down: the federation should lose none;
 * - the messages to and from the crashed broker's clients that were lost while it was down;
 * - the recovery time: from the broker being back until every path through it delivers again
 *   (its clients reconnect, and the other brokers link to it again);
 * - at QoS 1, whether the federation delivers at least once across a crash: every broker keeps
 *   its outboxes and MQTT sessions in a data directory that outlives its restart, subscribers
 *   keep persistent sessions, and publishers resend what the broker did not acknowledge. The
 *   delivery table counts as lost only acknowledged messages that never arrived; QoS 0, the
 *   second variant, shows what the same crashes cost without any of that.
 * Workload: one publisher per broker at 20 msg/s (64 bytes, `crash/<i>`), one subscriber per
 * broker to `crash/#`; clients reconnect 500 ms after losing their broker, as devices do.
 * 45 s after 5 s of warm-up: b is killed at 12 s and restarted at 19 s, c killed at 26 s and
 * restarted at 33 s. `--quick` runs 18 s, and the fault times scale with it (4.8, 7.6, 10.4 and
 * 13.2 s), leaving 4.8 s and the drain for c to recover.
 */
export default defineScenario({
  name: 'broker-crash',
  description:
    'Two brokers of three killed mid-run and restarted, at QoS 1 and 0: loss, surviving paths, recovery',
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
    { atMs: 12_000, broker: 'b', action: 'kill' },
    { atMs: 19_000, broker: 'b', action: 'restart' },
    { atMs: 26_000, broker: 'c', action: 'kill' },
    { atMs: 33_000, broker: 'c', action: 'restart' },
  ],
  clientReconnectMs: 500,
  durationMs: 45_000,
  warmupMs: 5_000,
  drainMs: 2_000,
  seed: 5,
  variants: [
    { name: 'qos1', qos: 1 },
    { name: 'qos0', qos: 0 },
  ],
  quick: { durationMs: 18_000, warmupMs: 2_000 },
  paper: {
    overhead: null,
    note: 'The paper has no fault experiment; this one shows what a crash costs and how fast the federation recovers.',
  },
});
