import { defineScenario, type MobilityModel } from '../harness/index.ts';

/**
 * Commuters [design]: clients that keep their MQTT session as they move (issue 13). A thousand
 * phones with a persistent session (clean session false, QoS 1) commute between four brokers;
 * each follows one feed. What the report's handover section shows: per move, the time from
 * CONNECT at the new broker to its CONNACK (the session moving with it), the gap to the first
 * message after it, and over the run whether anything owed was lost or came twice.
 * - five brokers: `home`, `work`, `mall`, `station` for the commuters, `hub` for the feeds;
 * - 100 feeds on `hub`, one QoS 1 message a second each (64 bytes) on `commute/<i>`;
 * - 1,000 commuters in ten groups of 100 (`line-0` … `line-9`); commuter i of every group
 *   follows `commute/<i>` at QoS 1, so each message reaches ten commuters (1,000 deliveries a
 *   second). Each stays 20–40 s (drawn per move, seeded) on a broker before moving to another;
 *   the first move comes within the first dwell, so moves spread over the run: about 2,500
 *   handovers in 75 s;
 * - variants: `persistent` (the session should follow the client) and `clean` (a clean session
 *   per connection, subscribing at each: the baseline, owed nothing while between brokers);
 * - 75 s after a 5 s warm-up; `--quick`: 20 feeds and 200 commuters (ten groups of 20) on three
 *   brokers (feeds spread over them), 20 s after 3 s, still a hundred handovers or so.
 * Modest rates on purpose: on a two-core machine the brokers must not be the bottleneck, or the
 * handover figures would measure a queue; the moves themselves (over thirty a second) are most
 * of the work.
 */

/**
 * Each client stays between `minMs` and `maxMs` (uniform, from its own seeded draws) on a broker,
 * then moves to another one drawn at random. The schedule is drawn as time passes and kept per
 * client; a fresh random source (another variant or repetition) starts it again, so the same
 * seed replays the same moves.
 */
export function commute(minMs: number, maxMs: number): MobilityModel {
  const clients = new Map<string, { random: () => number; broker: string; nextMs: number }>();
  return (client, nowMs, random) => {
    let state = clients.get(client.id);
    if (state === undefined || state.random !== random) {
      state = { random, broker: client.broker, nextMs: random() * maxMs };
      clients.set(client.id, state);
    }
    while (nowMs >= state.nextMs) {
      const others = client.brokers.filter((broker) => broker !== state!.broker);
      const draw = random();
      if (others.length > 0) state.broker = others[Math.floor(draw * others.length)]!;
      state.nextMs += minMs + random() * (maxMs - minMs);
    }
    return state.broker;
  };
}

const QUICK_BROKERS = ['home', 'work', 'station'];
const LINES = Array.from({ length: 10 }, (_, k) => `line-${k}`);

export default defineScenario({
  name: 'commuters',
  description:
    '1,000 persistent QoS 1 clients commuting between four brokers, their feeds on a fifth',
  brokers: ['home', 'work', 'mall', 'station', 'hub'],
  clients: {
    publishers: [
      {
        name: 'feed',
        count: 100,
        broker: 'hub',
        rate: 1,
        payloadBytes: 64,
        qos: 1,
        topics: ['commute/{i}'],
      },
    ],
    mobile: LINES.map((name) => ({
      name,
      count: 100,
      brokers: ['home', 'work', 'mall', 'station'],
      filters: ['commute/{i}'],
      qos: 1 as const,
      persistent: true,
      mobility: {
        kind: 'custom' as const,
        name: 'commute 20–40 s',
        model: commute(20_000, 40_000),
      },
      tickMs: 250,
    })),
  },
  durationMs: 80_000,
  warmupMs: 5_000,
  drainMs: 3_000,
  seed: 13,
  variants: [{ name: 'persistent' }, { name: 'clean', persistent: false }],
  quick: {
    durationMs: 23_000,
    warmupMs: 3_000,
    brokers: QUICK_BROKERS,
    counts: { feed: 20, ...Object.fromEntries(LINES.map((name) => [name, 20])) },
    placement: {
      feed: QUICK_BROKERS,
      ...Object.fromEntries(LINES.map((name) => [name, QUICK_BROKERS])),
    },
  },
  paper: { overhead: null, note: 'Not one of the paper’s experiments' },
});
