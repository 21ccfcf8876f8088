/**
 * The paths the link bench measures: where each one's publisher and subscriber connect, at which
 * QoS, and on which system. One table, read by the system under test (what to start and
 * connect), the phases (what to search and time) and the report (labels and order).
 *
 * same: publisher and subscriber on broker A; cross: subscriber on B, across the peer link;
 * relay: subscriber on A through a zero-logic TCP relay (the floor of a process hop);
 * mosquitto-same and mosquitto: the baseline, two Mosquitto brokers joined by a static bridge,
 * subscriber on the publisher's broker and across the bridge, so the bridge hop is measured the
 * way the federation hop is; cross-tls: the cross path on a federation with TLS on every hop
 * (MQTTS clients, WSS peer link); cross-qos1-durable and cross-qos1-memory: the cross path with
 * publisher and subscriber at QoS 1, on brokers with a data directory (the outbox written
 * through to SQLite before the PUBACK) and without one (the outbox in memory only);
 * mosquitto-qos1: the bridge at QoS 1 (its own pair, bridged `topic # both 1`), clients at QoS 1.
 */
export const PATH_NAMES = [
  'same',
  'cross',
  'relay',
  'mosquitto-same',
  'mosquitto',
  'cross-tls',
  'cross-qos1-durable',
  'cross-qos1-memory',
  'mosquitto-qos1',
] as const;

export type PathName = (typeof PATH_NAMES)[number];

/**
 * The systems a path runs on: the federation whose brokers have a data directory (the testbed's
 * processes topology gives each broker one), a second federation whose brokers have none, a
 * third with TLS on every hop, and the Mosquitto static-bridge baseline at QoS 0 and at QoS 1.
 */
export type SystemName = 'mqfed' | 'mqfed-memory' | 'mqfed-tls' | 'mosquitto' | 'mosquitto-qos1';

/** The systems that are mqfed federations (the others are Mosquitto bridge pairs). */
export type Federation = Exclude<SystemName, 'mosquitto' | 'mosquitto-qos1'>;

export interface PathSpec {
  system: SystemName;
  /** The broker of `system` the subscriber connects to; every publisher is on its first broker. */
  subscribeOn: string;
  /** Publisher's and subscriber's QoS. */
  qos: 0 | 1;
  /** Shown in the tables. */
  label: string;
  /** True where the path crosses one peer link: these get a throughput search. */
  link: boolean;
}

/** Broker names of each system, publisher's first; told apart by name in the CPU figures. */
export const BROKERS: Record<SystemName, readonly [string, string]> = {
  mqfed: ['a', 'b'],
  'mqfed-memory': ['a-mem', 'b-mem'],
  'mqfed-tls': ['a-tls', 'b-tls'],
  mosquitto: ['a', 'b'],
  'mosquitto-qos1': ['a-qos1', 'b-qos1'],
};

export function isMosquitto(system: SystemName): boolean {
  return system === 'mosquitto' || system === 'mosquitto-qos1';
}

export const PATHS: Record<PathName, PathSpec> = {
  same: { system: 'mqfed', subscribeOn: 'a', qos: 0, label: 'same broker (A → A)', link: false },
  cross: {
    system: 'mqfed',
    subscribeOn: 'b',
    qos: 0,
    label: 'across brokers (A → link → B)',
    link: true,
  },
  relay: {
    system: 'mqfed',
    subscribeOn: 'relay',
    qos: 0,
    label: 'through TCP relay (A → relay)',
    link: false,
  },
  'mosquitto-same': {
    system: 'mosquitto',
    subscribeOn: 'a',
    qos: 0,
    label: 'Mosquitto, same broker (a → a)',
    link: false,
  },
  // `a` is the bridge's hub: one bridge hop to `b`.
  mosquitto: {
    system: 'mosquitto',
    subscribeOn: 'b',
    qos: 0,
    label: 'Mosquitto bridge (a → bridge → b)',
    link: true,
  },
  'cross-tls': {
    system: 'mqfed-tls',
    subscribeOn: 'b-tls',
    qos: 0,
    label: 'across, TLS on every hop',
    link: true,
  },
  'cross-qos1-durable': {
    system: 'mqfed',
    subscribeOn: 'b',
    qos: 1,
    label: 'across, QoS 1, durable outbox',
    link: true,
  },
  'cross-qos1-memory': {
    system: 'mqfed-memory',
    subscribeOn: 'b-mem',
    qos: 1,
    label: 'across, QoS 1, memory outbox',
    link: true,
  },
  'mosquitto-qos1': {
    system: 'mosquitto-qos1',
    subscribeOn: 'b-qos1',
    qos: 1,
    label: 'Mosquitto bridge, QoS 1',
    link: false,
  },
};

/**
 * How the `mqfed` system runs: each service its own process (the processes topology), or all of
 * them in the one process of `mqfed up`.
 */
export type FederationKind = 'processes' | 'up';

/** The cost meter's name of the one process of `mqfed up`. */
export const UP_PROCESS = 'mqfed up';

/**
 * The processes of a path's publisher and subscriber brokers, as the cost meter names them:
 * under `mqfed up` both are its one process.
 */
export function brokerLabels(
  path: PathName,
  federation: FederationKind = 'processes',
): { a: string; b: string } {
  const { system } = PATHS[path];
  if (system === 'mqfed' && federation === 'up') return { a: UP_PROCESS, b: UP_PROCESS };
  const [a, b] = BROKERS[system];
  const kind = isMosquitto(system) ? 'mosquitto' : 'broker';
  return { a: `${kind} ${a}`, b: `${kind} ${b}` };
}

/** Paths named in a comma-separated list, in the table's order; throws on an unknown one. */
export function parsePaths(value: string): PathName[] {
  const names = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const unknown = names.filter((name) => !(PATH_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown path ${unknown.join(', ')}: expected ${PATH_NAMES.join(', ')}`);
  }
  return PATH_NAMES.filter((name) => names.includes(name));
}
