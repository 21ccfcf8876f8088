import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  findMosquitto,
  type MosquittoBinary,
  noMosquittoFound,
} from '../harness/baselines/mosquitto-binary.ts';
import { mosquittoBridgesTopology } from '../harness/baselines/mosquitto-topology.ts';
import { caOfBrokerUrl } from '../harness/broker-url.ts';
import type { MeteredTopology } from '../harness/recording/cost-meter.ts';
import type { PublisherConnection, SubscriberConnection } from '../harness/seams/client-factory.ts';
import { type BrokerCounters, scrapeBrokerCounters } from '../harness/topology/broker-metrics.ts';
import { cleanupOnInterrupt } from '../harness/topology/interrupt-cleanup.ts';
import { processesTopology } from '../harness/topology/processes.ts';
import {
  type ServiceProcess,
  startNodeProcess,
  wordAfter,
} from '../harness/topology/service-process.ts';
import type { StartedTopology } from '../harness/topology/topology.ts';
import { localClients } from '../harness/workload/client-connection.ts';
import { fetchTrusting } from '../system/common/index.ts';
import {
  BROKERS,
  type Federation,
  type FederationKind,
  isMosquitto,
  PATHS,
  type PathName,
  type SystemName,
} from './paths.ts';
import { startUpFederation } from './up-federation.ts';

const RELAY = fileURLToPath(new URL('./tcp-relay.ts', import.meta.url));

const FEDERATIONS = ['mqfed', 'mqfed-memory', 'mqfed-tls'] as const satisfies Federation[];
const BRIDGE_PAIRS = ['mosquitto', 'mosquitto-qos1'] as const satisfies SystemName[];
/** How the services other than brokers of each federation are told apart in the CPU figures. */
const SUFFIX: Record<Federation, string> = {
  mqfed: '',
  'mqfed-memory': ' (memory)',
  'mqfed-tls': ' (tls)',
};

export interface SystemOptions {
  /** The paths to measure: only what they run on is started. */
  paths: readonly PathName[];
  /** How the `mqfed` federation runs: a process per service, or `mqfed up` (default processes). */
  federation?: FederationKind;
  /** Environment of the mqfed brokers, e.g. NODE_OPTIONS for a CPU profile. */
  brokerEnv?: Readonly<Record<string, string>>;
}

/** What each system was started as, for the header of the report and the results file. */
export type Outboxes = Partial<Record<Exclude<Federation, 'mqfed-tls'>, string>>;

/**
 * The system under test, built from the testbed's parts: auth, discovery and brokers A and B as
 * processes (the processes topology), the TCP relay in front of A as a process of its own, and,
 * beside them, two Mosquitto brokers joined by a static bridge (the Mosquitto baseline topology).
 * For the memory-outbox QoS 1 path, a second federation (auth, discovery, brokers `a-mem` and
 * `b-mem`) whose brokers have no data directory. Clients are the testbed's: one publisher per
 * system in the publisher worker thread (the precise open-loop scheduler; QoS 0 as prebuilt
 * packets, QoS 1 through MQTT.js) and one subscriber per path, all in this process, so send and
 * receive times come from one clock. Only what the selected paths need is started.
 *
 * [design] Only A declares `bench/#`: B then links to A when its client subscribes, and A, which
 * sees nothing of B's declared, never links back to B for the same-broker path's subscription.
 * Each path has a topic of its own, subscribed once at its QoS; a run tells its messages from
 * earlier runs' by the run id in the payload.
 * [design] Durable or not is the brokers' data directory: the processes topology gives every
 * broker one (MQFED_DATA_DIR, a folder of the run's temporary directory), so the federation the
 * QoS 0 paths and the durable QoS 1 path run on writes its QoS 1 outbox through to SQLite there.
 * The memory federation is started with that variable taken out of the brokers' environment.
 * Both are checked once started: a durable broker has written its store into its folder, a
 * memory one nothing; a durable path whose brokers wrote nothing is left out, with the reason.
 */
export class SystemUnderTest implements AsyncDisposable {
  readonly paths: readonly PathName[];
  /** Paths left out, and why. */
  readonly skipped: Partial<Record<PathName, string>>;
  /** Where each federation's brokers keep their outbox. */
  readonly outboxes: Outboxes;
  /** The Mosquitto the bridge paths run, if any ran. */
  readonly mosquitto: MosquittoBinary | undefined;
  /** Every process of the run for the cost meter: services, relay, Mosquitto brokers. */
  readonly metered: MeteredTopology;
  readonly #topologies: Map<SystemName, StartedTopology>;
  readonly #relay: ServiceProcess | undefined;
  readonly #publishers = new Map<SystemName, PublisherConnection>();
  readonly #subscribers = new Map<PathName, SubscriberConnection>();
  readonly #listeners = new Map<PathName, (payload: Buffer, arrivalMs: number) => void>();
  #nextClient = 1;
  #closing: Promise<void> | undefined;
  readonly #forgetInterrupt: () => void;

  private constructor(
    topologies: Map<SystemName, StartedTopology>,
    relay: ServiceProcess | undefined,
    paths: readonly PathName[],
    skipped: Partial<Record<PathName, string>>,
    outboxes: Outboxes,
    mosquitto: MosquittoBinary | undefined,
  ) {
    this.#topologies = topologies;
    this.mosquitto = mosquitto;
    this.#relay = relay;
    this.skipped = skipped;
    this.outboxes = outboxes;
    this.paths = paths.filter((path) => !(path in skipped));
    const federations = FEDERATIONS.flatMap((name) => {
      const topology = topologies.get(name);
      return topology === undefined ? [] : [[name, topology] as const];
    });
    this.metered = {
      kind: 'processes',
      brokers: federations.flatMap(([, topology]) => topology.brokers),
      processIds: () =>
        new Map([
          // Each federation's own auth and discovery are told apart by name.
          ...federations.flatMap(([name, topology]) =>
            [...(topology.processIds?.() ?? [])].map(([service, pid]): [string, number] => [
              topology.brokers.includes(service) ? service : `${service}${SUFFIX[name]}`,
              pid,
            ]),
          ),
          ...(relay === undefined ? [] : [['relay', relay.pid] as [string, number]]),
          ...BRIDGE_PAIRS.flatMap((name) => [...(topologies.get(name)?.processIds?.() ?? [])]),
        ]),
      linkBytes: async () =>
        new Map(
          (
            await Promise.all(
              federations.map(async ([, topology]) => [...((await topology.linkBytes?.()) ?? [])]),
            )
          ).flat(),
        ),
    };
    this.#forgetInterrupt = cleanupOnInterrupt(() => this.close());
  }

  static async start(options: SystemOptions): Promise<SystemUnderTest> {
    const needs = (system: SystemName) =>
      options.paths.some((path) => PATHS[path].system === system);
    const topologies = new Map<SystemName, StartedTopology>();
    let relay: ServiceProcess | undefined;
    const closeAll = async () => {
      for (const topology of [...topologies.values()].reverse()) await topology.close();
      await relay?.stop();
    };
    try {
      const skipped: Partial<Record<PathName, string>> = {};
      const outboxes: Outboxes = {};
      // The federations at once: each start is mostly Node processes booting.
      const federations = FEDERATIONS.filter(needs);
      const started = await Promise.allSettled(
        federations.map(async (name) => {
          const topology = await startFederation(name, options);
          topologies.set(name, topology);
        }),
      );
      const failed = started.find((result) => result.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      for (const name of federations) {
        if (name === 'mqfed-tls') continue;
        const check = checkOutbox(name, topologies.get(name)!);
        outboxes[name] = check.outbox;
        if (check.problem === undefined) continue;
        for (const path of options.paths) {
          if (PATHS[path].system === name && PATHS[path].qos === 1) skipped[path] = check.problem;
        }
      }
      if (options.paths.includes('relay')) {
        const target = new URL(topologies.get('mqfed')!.endpoint('a').mqttUrl);
        relay = await startNodeProcess('relay', [
          RELAY,
          '--target',
          `${target.hostname}:${target.port}`,
          '--port',
          '0',
        ]);
      }
      const pairs = BRIDGE_PAIRS.filter(needs);
      const mosquitto = pairs.length > 0 ? await findMosquitto() : undefined;
      if (mosquitto === undefined) {
        for (const path of options.paths) {
          if (isMosquitto(PATHS[path].system)) skipped[path] = noMosquittoFound();
        }
      } else {
        for (const name of pairs) {
          const bridgeQos = name === 'mosquitto-qos1' ? 1 : 0;
          const topology = mosquittoBridgesTopology({ bridgeQos, binary: mosquitto.path });
          topologies.set(name, await topology.start({ brokers: [...BROKERS[name]] }));
        }
      }
      const system = new SystemUnderTest(
        topologies,
        relay,
        options.paths,
        skipped,
        outboxes,
        mosquitto,
      );
      await system.#connect().catch(async (error: unknown) => {
        await system.close();
        throw error;
      });
      return system;
    } catch (error) {
      await closeAll();
      throw error;
    }
  }

  /**
   * The counters of every mqfed broker, by cost-meter name, from its `/metrics`; the TLS
   * federation's over HTTPS, trusting its CA.
   */
  async brokerCounters(): Promise<Map<string, BrokerCounters>> {
    const read = await Promise.all(
      FEDERATIONS.map((name) => {
        const topology = this.#topologies.get(name);
        if (topology === undefined) return new Map<string, BrokerCounters>();
        const urls = topology.brokers.flatMap((broker) => {
          const url = topology.endpoint(broker).httpUrl;
          return url === undefined ? [] : [[`broker ${broker}`, url] as [string, string]];
        });
        const { ca } = caOfBrokerUrl(topology.endpoint(topology.brokers[0]!).mqttUrl);
        return scrapeBrokerCounters(urls, ca === undefined ? fetch : fetchTrusting({ ca }));
      }),
    );
    return new Map(read.flatMap((counters) => [...counters]));
  }

  topicOf(path: PathName): string {
    return `bench/${path}`;
  }

  publisher(path: PathName): PublisherConnection {
    return this.#publishers.get(PATHS[path].system)!;
  }

  subscriber(path: PathName): SubscriberConnection {
    return this.#subscribers.get(path)!;
  }

  /** Where the path's arrivals go now (one run at a time); `undefined` drops them. */
  onArrival(path: PathName, listener: ((payload: Buffer, arrivalMs: number) => void) | undefined) {
    if (listener === undefined) this.#listeners.delete(path);
    else this.#listeners.set(path, listener);
  }

  /**
   * Fresh connections for a path whose run may have broken them: its publisher (ended to stop a
   * run early, or failed under a flood) and, if it lost its connection, its subscriber.
   */
  async renew(path: PathName): Promise<void> {
    const system = PATHS[path].system;
    await this.#publishers.get(system)?.end();
    this.#publishers.set(system, await this.#newPublisher(system));
    if (!this.subscriber(path).connected) {
      await this.subscriber(path).end();
      this.#subscribers.set(path, await this.#newSubscriber(path));
    }
  }

  /** Process ids by name: what to clean up, should this process be killed outright. */
  processIds(): ReadonlyMap<string, number> {
    return new Map([['bench', process.pid], ...(this.metered.processIds?.() ?? [])]);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#forgetInterrupt();
      const clients = [...this.#publishers.values(), ...this.#subscribers.values()];
      await Promise.allSettled(clients.map((client) => client.end()));
      for (const name of BRIDGE_PAIRS) await this.#topologies.get(name)?.close();
      await this.#relay?.stop();
      for (const name of [...FEDERATIONS].reverse()) await this.#topologies.get(name)?.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #connect(): Promise<void> {
    const systems = new Set(this.paths.map((path) => PATHS[path].system));
    for (const system of systems) this.#publishers.set(system, await this.#newPublisher(system));
    for (const path of this.paths) this.#subscribers.set(path, await this.#newSubscriber(path));
  }

  #urlOf(system: SystemName, broker: string): string {
    if (broker === 'relay') return wordAfter(this.#relay!, 'relay');
    return this.#topologies.get(system)!.endpoint(broker).mqttUrl;
  }

  #clientId(role: string): string {
    return `bench-${role}-${process.pid}-${this.#nextClient++}`;
  }

  #newPublisher(system: SystemName): Promise<PublisherConnection> {
    const first = this.#topologies.get(system)!.brokers[0]!;
    return localClients.publisher(this.#urlOf(system, first), this.#clientId(`${system}-pub`));
  }

  async #newSubscriber(path: PathName): Promise<SubscriberConnection> {
    const { system, subscribeOn, qos } = PATHS[path];
    const subscriber = await localClients.subscriber(
      this.#urlOf(system, subscribeOn),
      this.#clientId(path),
    );
    subscriber.onMessage((payload, arrivalMs) => this.#listeners.get(path)?.(payload, arrivalMs));
    await subscriber.subscribe([this.topicOf(path)], qos);
    return subscriber;
  }
}

function startFederation(name: Federation, options: SystemOptions): Promise<StartedTopology> {
  const [a, b] = BROKERS[name];
  const env: Record<string, string | undefined> = {
    // [design] The bench searches rates far above a broker's per-client defaults (10 000 publishes
    // per second, 1000 unacknowledged deliveries), one client per path: it measures the
    // federation, not those limits.
    MQFED_PUBLISH_RATE: '10000000',
    MQFED_MAX_INFLIGHT: '65535',
    ...options.brokerEnv,
  };
  if (name === 'mqfed' && options.federation === 'up') {
    return startUpFederation([a, b], env as Record<string, string>);
  }
  // [design] No data directory: an undefined value leaves the variable the processes topology
  // sets out of the child's environment (child_process skips undefined values). checkOutbox
  // confirms it took.
  if (name === 'mqfed-memory') env.MQFED_DATA_DIR = undefined;
  return processesTopology({
    brokerArgs: (broker) => (broker === a ? ['--declare', 'bench/#'] : []),
    brokerEnv: env as Record<string, string>,
  }).start({ brokers: [a, b], tls: name === 'mqfed-tls' });
}

/**
 * Where a federation's brokers keep their outbox, read from their data folders: a broker with a
 * data directory opens its store there at start, one without writes nothing. A federation that
 * is not what its QoS 1 path says it is gets a problem, which leaves that path out.
 */
function checkOutbox(
  name: Federation,
  topology: StartedTopology,
): { outbox: string; problem?: string } {
  const folders = topology.brokers.map((broker) => ({
    broker,
    folder: topology.dataDir?.(broker),
  }));
  const written = folders.map(({ broker, folder }) => {
    if (folder === undefined) return { broker, files: [] as string[] };
    try {
      return { broker, files: readdirSync(folder) };
    } catch {
      return { broker, files: [] as string[] };
    }
  });
  const durable = written.filter(({ files }) => files.length > 0).map(({ broker }) => broker);
  if (name === 'mqfed') {
    if (durable.length === topology.brokers.length) {
      const where = folders.map(({ broker, folder }) => `${broker}: ${folder}`).join(', ');
      return { outbox: `durable, SQLite in each broker's data directory (${where})` };
    }
    const problem =
      `brokers ${topology.brokers.filter((broker) => !durable.includes(broker)).join(', ')} ` +
      'wrote nothing into their data directory: they did not take MQFED_DATA_DIR (--data-dir)';
    return { outbox: `NOT durable: ${problem}`, problem };
  }
  if (durable.length === 0) return { outbox: 'memory only (no data directory)' };
  const problem = `brokers ${durable.join(', ')} wrote into a data directory they should not have`;
  return { outbox: `NOT memory only: ${problem}`, problem };
}
