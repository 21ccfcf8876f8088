import { defineScenario, type ScenarioInput } from '../harness/index.ts';

/** The size of a crowd-xl run: how many client hosts, and what sits on each. */
export interface CrowdXlShape {
  /** Client hosts (`crowd-1` …): each becomes a client container of its own. */
  hosts: number;
  /** Sensors (publishers) per host. */
  sensorsPerHost: number;
  /** Messages per second per sensor. */
  rate: number;
}

/** 4 hosts × (1,000 sensors + 4 × 1,000 followers) = 20,000 clients. */
export const CROWD_XL: CrowdXlShape = { hosts: 4, sensorsPerHost: 1_000, rate: 0.2 };

const BROKERS = ['a', 'b', 'c'];
/** Each broker list rotated by `by`: groups start on different brokers. */
const rotated = (by: number) => BROKERS.map((_, i) => BROKERS[(i + by) % BROKERS.length]!);

/**
 * Crowd-xl [design]: a city's worth of devices, more than one harness process can hold, spread
 * over client hosts as the paper's cloud spread its clients over virtual machines.
 * - three brokers; `hosts` client hosts (`crowd-1` …), each a client container of its own (a
 *   process only where no Docker engine answers: then every client sits in the harness, which
 *   refuses a crowd larger than its file-descriptor limit before it connects anything);
 * - on each host, `sensorsPerHost` sensors publish `rate` messages per second (64 bytes) on
 *   `xl/<host>/<i>`, spread round-robin over the brokers;
 * - every host also runs one group of followers per host, as many as there are sensors: follower
 *   i of group `follow-<h>-from-<k>` subscribes to `xl/<k>/<i>`. So each sensor has one follower
 *   on every host (`hosts` deliveries per message), most of them on another broker, and every
 *   client host both publishes and receives. Most clients are idle: a follower receives one
 *   message every 1 / rate seconds;
 * - no link is impaired: the figures are what the crowd costs, not what a network adds, and no
 *   delay proxy stands between a client and its broker;
 * - the shipped shape: 4 hosts × (1,000 sensors + 4,000 followers) = 20,000 clients, 800
 *   publishes and 3,200 deliveries a second; 60 s after a 10 s warm-up; `--quick` keeps the
 *   20,000 clients and shortens the run to 20 s after a 5 s warm-up (connecting the crowd
 *   comes on top of that, about a minute on two cores).
 * `crowdXl` builds the same scenario at any size (the container test runs a few hundred clients).
 */
export function crowdXl(shape: CrowdXlShape, name = 'crowd-xl'): ScenarioInput {
  const hostNames = Array.from({ length: shape.hosts }, (_, h) => `crowd-${h + 1}`);
  const clients = shape.hosts * shape.sensorsPerHost * (1 + shape.hosts);
  return {
    name,
    description: `${clients.toLocaleString('en')} clients over ${shape.hosts} client hosts: ${shape.hosts * shape.sensorsPerHost} sensors at ${shape.rate} msg/s, each followed from every host`,
    brokers: BROKERS,
    topology: 'containers',
    network: {
      // The brokers share one host: no link between any two hosts is impaired, so no proxy runs.
      hosts: { brokers: BROKERS, ...Object.fromEntries(hostNames.map((host) => [host, []])) },
    },
    clients: {
      publishers: hostNames.map((host, h) => ({
        name: `sensors-${h + 1}`,
        count: shape.sensorsPerHost,
        broker: rotated(h),
        host,
        rate: shape.rate,
        payloadBytes: 64,
        topics: [`xl/${h + 1}/{i}`],
      })),
      subscribers: hostNames.flatMap((host, h) =>
        hostNames.map((_, k) => ({
          name: `follow-${h + 1}-from-${k + 1}`,
          count: shape.sensorsPerHost,
          // Shifted by h + 1 against the sensors they follow: with 4 hosts, the followers on
          // crowd-3 share their sensor's broker and the others cross a peer link.
          broker: rotated(h + k + 1),
          host,
          filters: [`xl/${k + 1}/{i}`],
        })),
      ),
    },
    durationMs: 70_000,
    warmupMs: 10_000,
    drainMs: 3_000,
    seed: 14,
    variants: [{ name: 'mqfed' }],
    quick: { durationMs: 25_000, warmupMs: 5_000 },
    paper: { overhead: null, note: 'Not one of the paper’s experiments' },
  };
}

export default defineScenario(crowdXl(CROWD_XL));
