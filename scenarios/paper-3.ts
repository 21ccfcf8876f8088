import { defineScenario } from '../harness/index.ts';

/**
 * Paper scenario 3 [paper]: the cloud. Broker services and simulated clients on several virtual
 * machines; the paper reports about 27 % overhead for deliveries that cross brokers.
 *
 * Hosts and links (ours [design]; the paper gives neither):
 * - each broker (`a`, `b`, `c`) on a host of its own, auth and discovery on `vm-control`: one
 *   data centre, 1 ms one-way (±0.2 ms jitter) between any two of these hosts;
 * - publishers on `vm-pub`, subscribers on `vm-sub`: hosts that reach the data centre over a
 *   longer path, 3 ms one-way (±0.5 ms) to every broker host, and to each other.
 *   A same-broker delivery crosses two 3 ms links; a cross-broker one adds a 1 ms link and a
 *   broker service. [design] Client-to-broker links longer than broker-to-broker ones is what
 *   makes the relative overhead smaller than on one machine, as in the paper: with every link
 *   alike, the extra hop alone would add half the delay.
 * - Every service is a container of its own on a private network where a Docker engine answers,
 *   else a process (the results record which topology ran). The clients' hosts are the harness
 *   process. The kernel has no netem, so links are delay proxies either way (the results record
 *   `impairment: delay-proxy`); timers have a 1 ms grain, so a proxy holds a message up to about
 *   1 ms longer than declared.
 *
 * Workload: paper-2's, on the client hosts:
 * - 3 publishers, one per broker, 20 msg/s of 64 bytes each on `paper3/<i>`;
 * - 3 fixed subscribers, one per broker, and 3 mobile ones moving round-robin a → b → c every
 *   10 s, all subscribed to `paper3/#`; deliveries within 1 s of a move are the handover phase,
 *   and the overhead is computed from steady-phase deliveries;
 * - 60 s after a 5 s warm-up; `--quick`: 12 s after 2 s; a single-broker variant as baseline;
 * - `mqfed qos1`: the same at QoS 1, for its delivery table (the overhead is `mqfed`'s, QoS 0).
 */
const dataCentre = { delayMs: 1, jitterMs: 0.2 };
const dataCentreHosts = ['vm-a', 'vm-b', 'vm-c', 'vm-control'];

export default defineScenario({
  name: 'paper-3',
  description:
    'Brokers and clients on separate emulated hosts with link delays between them (the paper’s cloud)',
  brokers: ['a', 'b', 'c'],
  // Separate hosts: containers where a Docker engine answers, else processes.
  topology: 'containers',
  network: {
    hosts: {
      'vm-a': ['a'],
      'vm-b': ['b'],
      'vm-c': ['c'],
      'vm-control': [],
      'vm-pub': [],
      'vm-sub': [],
    },
    control: 'vm-control',
    defaultLink: { delayMs: 3, jitterMs: 0.5 },
    links: dataCentreHosts.flatMap((x, i) =>
      dataCentreHosts
        .slice(i + 1)
        .map((y) => ({ between: [x, y] as [string, string], ...dataCentre })),
    ),
  },
  clients: {
    publishers: [
      {
        name: 'pub',
        count: 3,
        broker: ['a', 'b', 'c'],
        host: 'vm-pub',
        rate: 20,
        payloadBytes: 64,
        topics: ['paper3/{i}'],
      },
    ],
    subscribers: [
      { name: 'sub', count: 3, broker: ['a', 'b', 'c'], host: 'vm-sub', filters: ['paper3/#'] },
    ],
    mobile: [
      {
        name: 'mobile',
        count: 3,
        brokers: ['a', 'b', 'c'],
        host: 'vm-sub',
        filters: ['paper3/#'],
        mobility: { kind: 'round-robin', dwellMs: 10_000 },
        handoverWindowMs: 1_000,
      },
    ],
  },
  durationMs: 65_000,
  warmupMs: 5_000,
  drainMs: 1_000,
  seed: 3,
  variants: [
    { name: 'mqfed' },
    { name: 'mqfed qos1', qos: 1 },
    { name: 'single-broker', system: 'single-broker' },
  ],
  compareVariants: ['mqfed'],
  repeat: 5,
  quick: { durationMs: 14_000, warmupMs: 2_000, repeat: 3 },
  paper: {
    overhead: 0.27,
    note: 'Paper, scenario 3 (cloud, brokers and clients on several virtual machines): about 27 % more delay across brokers',
  },
});
