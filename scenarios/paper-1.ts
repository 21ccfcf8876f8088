import { defineScenario } from '../harness/index.ts';

/**
 * Paper scenario 1 [paper]: one machine, synthetic load, one publisher and one subscriber. The
 * delay from publisher to subscriber when both use the same broker versus different brokers,
 * over QoS 0 and QoS 1: four variants. The paper reports about 50 % overhead for the cross-broker
 * path. Two more run the QoS 0 pair with TLS on every hop (MQTTS clients, WSS peer links, HTTPS
 * to auth and discovery), as `mqfed` runs by default: set against their plain twins they show
 * what TLS costs [design]; the paper comparison uses the four plain variants, as the paper did.
 *
 * Parameters (the paper does not give its own, these are ours [design]):
 * - two brokers, `a` and `b`; the publisher is always on `a`, the subscriber on `a` (same
 *   broker) or `b` (one peer-link hop);
 * - 100 msg/s of 64-byte payloads: far below saturation, so the figures are the path's delay,
 *   not queueing; 64 bytes is the usual small-sensor message and the size bench/ measures;
 * - 35 s per variant, the first 5 s a warm-up that is discarded (connections, JIT and the peer
 *   link settle): 3,000 delays per variant, enough for a stable p99 (p99.9 rests on 3 samples);
 * - five repetitions of every variant, interleaved, each on a fresh topology: the overhead is
 *   reported as a median with a 95 % interval, not as one run's figure;
 * - `--quick`: 5 s with 1 s of warm-up per variant, three repetitions: about three minutes.
 * Every client runs in the harness process, so send and receive times share one clock.
 */
export default defineScenario({
  name: 'paper-1',
  description:
    'One publisher and one subscriber on one machine: same broker versus different brokers, QoS 0 and QoS 1',
  brokers: ['a', 'b'],
  clients: {
    publishers: [
      { name: 'pub', broker: 'a', rate: 100, payloadBytes: 64, topics: ['paper1/sensor'] },
    ],
    subscribers: [{ name: 'sub', broker: 'a', filters: ['paper1/sensor'] }],
  },
  durationMs: 35_000,
  warmupMs: 5_000,
  drainMs: 1_000,
  seed: 1,
  variants: [
    { name: 'same-broker qos0', qos: 0, placement: { sub: 'a' } },
    { name: 'cross-broker qos0', qos: 0, placement: { sub: 'b' } },
    { name: 'same-broker qos1', qos: 1, placement: { sub: 'a' } },
    { name: 'cross-broker qos1', qos: 1, placement: { sub: 'b' } },
    { name: 'same-broker qos0 tls', qos: 0, tls: true, placement: { sub: 'a' } },
    { name: 'cross-broker qos0 tls', qos: 0, tls: true, placement: { sub: 'b' } },
  ],
  compareVariants: [
    'same-broker qos0',
    'cross-broker qos0',
    'same-broker qos1',
    'cross-broker qos1',
  ],
  repeat: 5,
  quick: { durationMs: 5_000, warmupMs: 1_000, repeat: 3 },
  paper: {
    overhead: 0.5,
    note: 'Paper, scenario 1 (one machine, synthetic): about 50 % more delay across brokers',
  },
});
