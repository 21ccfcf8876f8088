import type { ImpairmentMethod, NetworkSpec } from '../network/network-spec.ts';
import type { ClientFactory } from '../seams/client-factory.ts';

/**
 * A topology is where a run's services live: all in the harness process, one OS process each, or
 * one container each, one Docker Swarm service each (across machines). A scenario names brokers; a topology kind starts them and hands back their
 * endpoints. [design] The interface is the seam between the workload and the kind, so the
 * processes and containers kinds plug in without touching the workload, and one contract suite
 * can run against every kind.
 */
export type TopologyKind = 'in-process' | 'processes' | 'containers' | 'swarm';

/** What a fault does to one broker mid-run; not every kind can do every one. */
export type FaultAction =
  | 'kill'
  | 'stop'
  | 'restart'
  | 'pause'
  | 'resume'
  | 'disconnect'
  | 'reconnect'
  | 'cut-links'
  | 'restore-links';

/** What to start: the brokers by name, and the hosts and links between them, if declared. */
export interface TopologyRequest {
  brokers: readonly string[];
  network?: NetworkSpec;
  /** Draws the impairment's jitter and loss; seeded by a run so they replay. */
  random?: () => number;
  /**
   * The network's hosts that clients sit on. A kind that can (containers) runs a client host for
   * each, and `clients(host)` makes that host's clients there.
   */
  clientHosts?: readonly string[];
  /**
   * Every peer link runs through a relay of the emulated network that can be cut
   * (`cutLinks`): for scenarios with link faults only, as the relay is one more hop.
   */
  cuttableLinks?: boolean;
  /**
   * TLS on every hop (HTTPS, WSS, MQTTS) from a CA made for the run; clients get `mqtts://` URLs
   * that name the CA file (`?cafile=`, see connectMqtt). Plain text when false or absent.
   */
  tls?: boolean;
}

/** Where clients reach one broker. */
export interface BrokerEndpoint {
  name: string;
  /** `mqtt://host:port`, or `mqtts://host:port?cafile=...` with TLS. */
  mqttUrl: string;
  /**
   * The broker's HTTP base (`/metrics`, `/healthz`) as the harness reaches it, where the kind
   * exposes it (in-process, processes).
   */
  httpUrl?: string;
}

export interface StartedTopology extends AsyncDisposable {
  readonly kind: TopologyKind;
  /** The brokers, in the order they were requested. */
  readonly brokers: readonly string[];
  /**
   * The broker's current endpoint as a client on `fromHost` reaches it (across the emulated link
   * between the two hosts); without a host, directly. It may change after `restart`. Throws for
   * a stopped broker.
   */
  endpoint(name: string, fromHost?: string): BrokerEndpoint;
  /** How the links between hosts are impaired in this topology. */
  readonly impairment: ImpairmentMethod;
  /** Where the clients of `host` are made, when this topology runs that host itself. */
  clients?(host: string): ClientFactory | undefined;
  /**
   * The services whose CPU and memory are sampled, one name each. In-process there is just one
   * (everything shares the process), and the name says so.
   */
  readonly sampledServices: readonly string[];
  /**
   * Where the services ran, where the kind spreads them over machines (swarm): how scenario
   * hosts were mapped to nodes, and each service's node.
   */
  placement?(): TopologyPlacement;
  /** The OS process of each sampled service, where services have their own (not in-process). */
  processIds?(): ReadonlyMap<string, number>;
  /**
   * Peer-link bytes each running broker has sent so far (its `mqfed_broker_link_bytes_total`,
   * direction out), by broker name. A broker that does not answer is left out; a restarted one
   * counts from 0 again. Absent where the brokers keep no such count (the Mosquitto baseline).
   */
  linkBytes?(): Promise<ReadonlyMap<string, number>>;
  /**
   * Confines one sampled service to these CPUs, where the topology places services itself
   * (containers: `docker update --cpuset-cpus`). Processes are pinned by their pid instead.
   */
  pinCpus?(service: string, cpus: readonly number[]): Promise<void>;
  /** Kills one broker without a clean shutdown (SIGKILL where it is a process): a crash. */
  kill?(name: string): Promise<void>;
  /**
   * Freezes one broker (SIGSTOP, `docker pause`): its sockets stay open and nothing answers,
   * as with a hung host. `resume` thaws it.
   */
  pause?(name: string): Promise<void>;
  resume?(name: string): Promise<void>;
  /**
   * Takes one broker off the network (its container leaves the network): connections to and
   * from it stall, as when a cable is pulled. `reconnect` puts it back.
   */
  disconnect?(name: string): Promise<void>;
  reconnect?(name: string): Promise<void>;
  /**
   * Cuts every peer link of one broker (needs `cuttableLinks`): its links' connections are
   * dropped and new ones refused, while its MQTT clients, auth and discovery stay connected.
   * `restoreLinks` lets them through again; the brokers reconnect on their own.
   */
  cutLinks?(name: string): Promise<void>;
  restoreLinks?(name: string): Promise<void>;
  /**
   * Where one broker keeps what must survive its crash (its `dataDir`), as a path on this
   * machine; undefined where it is not one (a container's volume). Kept across `kill`,
   * `stop` and `restart`, removed by `close`.
   */
  dataDir?(name: string): string | undefined;
  /** Stops one broker cleanly (it deregisters); its clients lose their connection. */
  stop(name: string): Promise<void>;
  /** Starts a stopped broker again, or stops and starts a running one. */
  restart(name: string): Promise<void>;
  /** Stops everything; idempotent. */
  close(): Promise<void>;
}

/** How a run's services were spread over machines. */
export interface TopologyPlacement {
  /** One sentence: which host went to which node, and how it was chosen. */
  summary: string;
  /** Service → the node (host name) it ran on. */
  services: Record<string, string>;
}

export interface Topology {
  readonly kind: TopologyKind;
  start(request: TopologyRequest): Promise<StartedTopology>;
}
