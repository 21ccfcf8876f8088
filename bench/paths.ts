/**
 * The paths the link bench measures: where each one's publisher and subscriber connect, at which
 * QoS, and on which system. One table, read by the system under test (what to start and
 * connect), the phases (what to search and time) and the report (labels and order).
 *
 * same: publisher and subscriber on broker A; cross: subscriber on B, across the peer link;
 * relay: subscriber on A through a zero-logic TCP relay (the floor of a process hop);
 * mosquitto: two Mosquitto brokers joined by a static bridge (the baseline); cross-qos1-durable
 * and cross-qos1-memory: the cross path with publisher and subscriber at QoS 1, on brokers with
 * a data directory (the outbox written through to SQLite before the PUBACK) and without one
 * (the outbox in memory only).
 */
export const PATH_NAMES = [
  'same',
  'cross',
  'relay',
  'mosquitto',
  'cross-qos1-durable',
  'cross-qos1-memory',
] as const;

export type PathName = (typeof PATH_NAMES)[number];

/**
 * The systems a path runs on: the federation whose brokers have a data directory (the testbed's
 * processes topology gives each broker one), a second federation whose brokers have none, and
 * the Mosquitto static-bridge baseline.
 */
export type SystemName = 'mqfed' | 'mqfed-memory' | 'mosquitto';

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

/** Broker names of each federation; the memory one's are told apart in the CPU figures. */
export const BROKERS: Record<Exclude<SystemName, 'mosquitto'>, readonly [string, string]> = {
  mqfed: ['a', 'b'],
  'mqfed-memory': ['a-mem', 'b-mem'],
};

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
  // `a` is the bridge's hub: one bridge hop to `b`.
  mosquitto: {
    system: 'mosquitto',
    subscribeOn: 'b',
    qos: 0,
    label: 'Mosquitto bridge (a → bridge → b)',
    link: false,
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
};

/** The processes of a path's publisher and subscriber brokers, as the cost meter names them. */
export function brokerLabels(path: PathName): { a: string; b: string } {
  const { system } = PATHS[path];
  if (system === 'mosquitto') return { a: 'mosquitto a', b: 'mosquitto b' };
  const [a, b] = BROKERS[system];
  return { a: `broker ${a}`, b: `broker ${b}` };
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
