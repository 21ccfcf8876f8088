import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { mosquittoBridgesTopology } from '../harness/baselines/mosquitto-topology.ts';
import type { MeteredTopology } from '../harness/recording/cost-meter.ts';
import type { PublisherConnection, SubscriberConnection } from '../harness/seams/client-factory.ts';
import { cleanupOnInterrupt } from '../harness/topology/interrupt-cleanup.ts';
import { processesTopology } from '../harness/topology/processes.ts';
import {
  type ServiceProcess,
  startNodeProcess,
  wordAfter,
} from '../harness/topology/service-process.ts';
import type { StartedTopology } from '../harness/topology/topology.ts';
import { localClients } from '../harness/workload/client-connection.ts';
import type { PathName } from './results.ts';

const RELAY = fileURLToPath(new URL('./tcp-relay.ts', import.meta.url));
const MOSQUITTO = '/usr/sbin/mosquitto';

/** The two systems a path runs on: the federation, or the Mosquitto static-bridge baseline. */
type SystemName = 'mqfed' | 'mosquitto';

/** Where each path's subscriber connects; every publisher is on broker `a` of its system. */
const PATHS: Record<PathName, { system: SystemName; subscribeOn: string }> = {
  same: { system: 'mqfed', subscribeOn: 'a' },
  cross: { system: 'mqfed', subscribeOn: 'b' },
  relay: { system: 'mqfed', subscribeOn: 'relay' },
  // `a` is the bridge's hub: one bridge hop to `b`.
  mosquitto: { system: 'mosquitto', subscribeOn: 'b' },
};

export interface SystemOptions {
  /** Run the Mosquitto bridge path too (skipped, with a note, where Mosquitto is not installed). */
  mosquitto: boolean;
  /** Environment of the mqfed brokers, e.g. NODE_OPTIONS for a CPU profile. */
  brokerEnv?: Readonly<Record<string, string>>;
}

/**
 * The system under test, built from the testbed's parts: auth, discovery and brokers A and B as
 * processes (the processes topology), the TCP relay in front of A as a process of its own, and,
 * beside them, two Mosquitto brokers joined by a static bridge (the Mosquitto baseline topology).
 * Clients are the testbed's: one publisher per system in the publisher worker thread (the precise
 * open-loop scheduler, writing prebuilt QoS 0 packets) and one subscriber per path, all in this
 * process, so send and receive times come from one clock.
 *
 * [design] Only A declares `bench/#`: B then links to A when its client subscribes, and A, which
 * sees nothing of B's declared, never links back to B for the same-broker path's subscription.
 * Each path has a topic of its own, subscribed once; a run tells its messages from earlier runs'
 * by the run id in the payload.
 */
export class SystemUnderTest implements AsyncDisposable {
  readonly paths: readonly PathName[];
  /** Paths left out, and why. */
  readonly skipped: Partial<Record<PathName, string>>;
  /** Every process of the run for the cost meter: services, relay, Mosquitto brokers. */
  readonly metered: MeteredTopology;
  readonly #federation: StartedTopology;
  readonly #relay: ServiceProcess;
  readonly #mosquitto: StartedTopology | undefined;
  readonly #publishers = new Map<SystemName, PublisherConnection>();
  readonly #subscribers = new Map<PathName, SubscriberConnection>();
  readonly #listeners = new Map<PathName, (payload: Buffer, arrivalMs: number) => void>();
  #nextClient = 1;
  #closing: Promise<void> | undefined;
  readonly #forgetInterrupt: () => void;

  private constructor(
    federation: StartedTopology,
    relay: ServiceProcess,
    mosquitto: StartedTopology | undefined,
    skipped: Partial<Record<PathName, string>>,
  ) {
    this.#federation = federation;
    this.#relay = relay;
    this.#mosquitto = mosquitto;
    this.skipped = skipped;
    this.paths = (Object.keys(PATHS) as PathName[]).filter((path) => !(path in skipped));
    this.metered = {
      kind: 'processes',
      brokers: federation.brokers,
      processIds: () =>
        new Map([
          ...(federation.processIds?.() ?? []),
          ['relay', relay.pid],
          ...(mosquitto?.processIds?.() ?? []),
        ]),
      ...(federation.linkBytes === undefined ? {} : { linkBytes: federation.linkBytes }),
    };
    this.#forgetInterrupt = cleanupOnInterrupt(() => this.close());
  }

  static async start(options: SystemOptions): Promise<SystemUnderTest> {
    const federation = await processesTopology({
      brokerArgs: (name) => (name === 'a' ? ['--declare', 'bench/#'] : []),
      ...(options.brokerEnv === undefined ? {} : { brokerEnv: options.brokerEnv }),
    }).start({ brokers: ['a', 'b'] });
    let relay: ServiceProcess | undefined;
    let mosquitto: StartedTopology | undefined;
    try {
      const target = new URL(federation.endpoint('a').mqttUrl);
      relay = await startNodeProcess('relay', [
        RELAY,
        '--target',
        `${target.hostname}:${target.port}`,
        '--port',
        '0',
      ]);
      const skipped: Partial<Record<PathName, string>> = {};
      if (!options.mosquitto) skipped.mosquitto = 'left out (--no-mosquitto)';
      else if (!(await mosquittoInstalled())) skipped.mosquitto = `no Mosquitto at ${MOSQUITTO}`;
      else mosquitto = await mosquittoBridgesTopology().start({ brokers: ['a', 'b'] });
      const system = new SystemUnderTest(federation, relay, mosquitto, skipped);
      await system.#connect().catch(async (error: unknown) => {
        await system.close();
        throw error;
      });
      return system;
    } catch (error) {
      await mosquitto?.close();
      await relay?.stop();
      await federation.close();
      throw error;
    }
  }

  /** Broker `/metrics` bases, for the counters of each run. */
  brokerHttpUrls(): [string, string][] {
    return this.#federation.brokers.flatMap((name) => {
      const url = this.#federation.endpoint(name).httpUrl;
      return url === undefined ? [] : [[`broker ${name}`, url] as [string, string]];
    });
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
      await this.#mosquitto?.close();
      await this.#relay.stop();
      await this.#federation.close();
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
    if (broker === 'relay') return wordAfter(this.#relay, 'relay');
    const topology = system === 'mqfed' ? this.#federation : this.#mosquitto!;
    return topology.endpoint(broker).mqttUrl;
  }

  #clientId(role: string): string {
    return `bench-${role}-${process.pid}-${this.#nextClient++}`;
  }

  #newPublisher(system: SystemName): Promise<PublisherConnection> {
    return localClients.publisher(this.#urlOf(system, 'a'), this.#clientId(`${system}-pub`));
  }

  async #newSubscriber(path: PathName): Promise<SubscriberConnection> {
    const { system, subscribeOn } = PATHS[path];
    const subscriber = await localClients.subscriber(
      this.#urlOf(system, subscribeOn),
      this.#clientId(path),
    );
    subscriber.onMessage((payload, arrivalMs) => this.#listeners.get(path)?.(payload, arrivalMs));
    await subscriber.subscribe([this.topicOf(path)], 0);
    return subscriber;
  }
}

function mosquittoInstalled(): Promise<boolean> {
  return access(MOSQUITTO).then(
    () => true,
    () => false,
  );
}
