import { defineScenario } from '../harness/index.ts';

/**
 * Link flap [design]: three brokers under steady load whose peer links are cut and restored
 * again and again, while every MQTT client stays connected to its broker. A cut (`cut-links`)
 * drops every peer-link connection of one broker and refuses new ones until `restore-links`:
 * the links run through relays of the harness that can be cut (one more loopback hop, which the
 * results note), while auth, discovery and the clients' connections are left alone. What it
 * measures:
 * - at QoS 1, whether what the cut-off broker's publishers sent during a cut, and what the
 *   others sent for its subscribers, still arrives once the link is back (the publishing
 *   broker's outbox resends it, the receiver drops duplicates): the delivery table;
 * - at QoS 0, what a cut costs without that;
 * - per cut, the deliveries across it lost, the paths that never needed the link (they should
 *   lose nothing), and how long after the restore every path across it delivered again.
 * Workload: per broker one QoS 0 and one QoS 1 publisher at 20 msg/s (64 bytes, `flap/q0/<i>`
 * and `flap/q1/<i>`), and one QoS 0 and one QoS 1 subscriber (`flap/q0/#`, `flap/q1/#`).
 * 40 s after 3 s of warm-up: b cut 6–9 s, c 14–17 s, b again 22–23 s (a short flap), a 28–31 s.
 * `--quick` runs 16 s, the cuts scaled with it (b 2.4–3.6 s, c 5.6–6.8 s, b 8.8–9.2 s,
 * a 11.2–12.4 s), and the drain gives the last resends time to arrive.
 */
export default defineScenario({
  name: 'link-flap',
  description:
    'Peer links of three brokers cut and restored repeatedly under QoS 0 and QoS 1 load; clients stay connected',
  brokers: ['a', 'b', 'c'],
  clients: {
    publishers: [
      {
        name: 'pub0',
        count: 3,
        broker: ['a', 'b', 'c'],
        rate: 20,
        qos: 0,
        payloadBytes: 64,
        topics: ['flap/q0/{i}'],
      },
      {
        name: 'pub1',
        count: 3,
        broker: ['a', 'b', 'c'],
        rate: 20,
        qos: 1,
        payloadBytes: 64,
        topics: ['flap/q1/{i}'],
      },
    ],
    subscribers: [
      { name: 'sub0', count: 3, broker: ['a', 'b', 'c'], qos: 0, filters: ['flap/q0/#'] },
      { name: 'sub1', count: 3, broker: ['a', 'b', 'c'], qos: 1, filters: ['flap/q1/#'] },
    ],
  },
  faults: [
    { atMs: 6_000, broker: 'b', action: 'cut-links' },
    { atMs: 9_000, broker: 'b', action: 'restore-links' },
    { atMs: 14_000, broker: 'c', action: 'cut-links' },
    { atMs: 17_000, broker: 'c', action: 'restore-links' },
    { atMs: 22_000, broker: 'b', action: 'cut-links' },
    { atMs: 23_000, broker: 'b', action: 'restore-links' },
    { atMs: 28_000, broker: 'a', action: 'cut-links' },
    { atMs: 31_000, broker: 'a', action: 'restore-links' },
  ],
  durationMs: 40_000,
  warmupMs: 3_000,
  drainMs: 3_000,
  seed: 6,
  variants: [{ name: 'mqfed' }],
  quick: { durationMs: 16_000, warmupMs: 2_000 },
  paper: {
    overhead: null,
    note: 'The paper has no fault experiment; this one shows what flapping peer links cost at QoS 0 and QoS 1.',
  },
});
