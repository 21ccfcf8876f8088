import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Cost, Floor, Latency, Noise, Repetition, Results } from '../harness/results/index.ts';
import type { BrokerCounters } from '../harness/topology/broker-metrics.ts';
import type { Qos1Delivery } from './delivery-rule.ts';
import type { MOSQUITTO_TARGETS, MosquittoComparison } from './mosquitto-targets.ts';
import type { FederationKind, PathName } from './paths.ts';
import type { SearchOptions } from './rate-search.ts';

export type { PathName } from './paths.ts';

/**
 * The results file of `bench:link`: every figure, the parameters and the machine, enough to
 * compare runs. v2 is measured with the testbed's parts and uses its results' shapes (counts,
 * latency, cost, floor, noise, environment). v3 adds the QoS 1 paths (durable and memory
 * outbox): a throughput search per link path, each run's QoS and its QoS 1 delivery account.
 * v4 adds the Mosquitto comparison (`mosquitto`: the issue's targets as ratios against the
 * bridge, same run), repetitions of the delay runs (`repetition`), and the paths
 * `mosquitto-same`, `cross-tls` and `mosquitto-qos1`; the Mosquitto bridge has a throughput
 * search of its own.
 */
export const LINK_BENCH_SCHEMA = 'mqfed-bench-link/4';

/** Counts after the warm-up, as the testbed counts them: received + lost = sent. */
type Counts = Pick<Repetition, 'sent' | 'received' | 'lost' | 'duplicates' | 'reordered'>;

/** The load generator (this process) over the measured window, in cores. */
export interface GeneratorLoad {
  /** The publisher worker thread, sending (its spinning to the due times left out). */
  publisherThreadCores: number;
  /** The same thread spinning on the clock just before due times. */
  spinCores: number;
  /** The rest of the process: the subscribers receiving, decoding and recording. */
  subscriberThreadCores: number;
}

export interface RunResult extends Counts {
  path: PathName;
  /** Publisher's and subscriber's QoS. */
  qos: 0 | 1;
  rate: number;
  durationMs: number;
  warmupMs: number;
  /** Messages the publisher sent, warm-up included. */
  published: number;
  /** True when the run stopped early: more than 1 % of its delays were already over the limit. */
  stoppedEarly: boolean;
  /** Set when the subscriber lost its connection during the run (the run counts as failed). */
  clientLost?: string;
  latencyMs: Latency;
  /**
   * At QoS 1, what the broker acknowledged and what of it arrived (the QoS 1 pass rule reads
   * this, not `lost`); null at QoS 0.
   */
  delivery: Qos1Delivery | null;
  /** HdrHistogram compressed base64 of the delays after the warm-up, µs. */
  histogram: string;
  /** How late the publisher handed messages over against their schedule. */
  publisherLagMs: Latency;
  /** CPU per delivered message of every process (the harness is the generator), link bytes. */
  cost: Cost;
  /** Cores each process kept busy over the measured window. */
  cores: Record<string, number>;
  generator: GeneratorLoad;
  /** Share of all the machine's CPUs busy over the window, other processes included. */
  machineBusy: number | null;
  /** Counter changes at each mqfed broker over the run. */
  brokers: Record<string, BrokerCounters>;
  /** What the figures alone do not show: a generator behind or saturated, a saturated machine. */
  notes: string[];
}

export interface LinkBenchResults {
  schema: typeof LINK_BENCH_SCHEMA;
  startedAt: string;
  finishedAt: string;
  gitCommit: string | null;
  /** Whether the work tree differed from the commit; null outside a checkout. */
  gitDirty: boolean | null;
  environment: Results['environment'];
  /** The measuring floor, taken before the services started. */
  floor: Floor | null;
  /** How busy the machine was besides the bench, over the whole bench. */
  noise: Noise | null;
  parameters: LinkBenchParameters;
  /** Paths left out of this run, and why. */
  skipped: Partial<Record<PathName, string>>;
  /** Where each federation's brokers kept their QoS 1 outbox, as checked at start. */
  outboxes: Partial<Record<'mqfed' | 'mqfed-memory', string>>;
  /** One search per link path measured: QoS 0, then QoS 1 with each outbox. */
  throughput: ThroughputResults[] | undefined;
  /** The QoS 1 target: durable outbox against QoS 0, from the two searches of this run. */
  qos1Target: Qos1Target | undefined;
  delay: DelayAtRate[] | undefined;
  /** The targets against the Mosquitto bridge, as ratios from this run; absent without it. */
  mosquitto: MosquittoComparison | undefined;
}

export interface Qos1Target {
  /** Highest pass of the durable QoS 1 path over that of the QoS 0 cross path. */
  share: number | undefined;
  met: boolean;
}

export interface LinkBenchParameters {
  quick: boolean;
  durationS: number;
  warmupS: number;
  payloadBytes: number;
  /** The paths measured (those left out are in `skipped`). */
  paths: PathName[];
  p99LimitMs: number;
  /** The QoS 0 search; QoS 1 searches start at half its highest pass (see `startRate`). */
  search: SearchOptions;
  delayRates: number[];
  /** Times each delay run was made (each rate's paths once per repetition). */
  repeat: number;
  /** How the federation of `same`, `cross`, `relay` and `cross-qos1-durable` ran. */
  federation: FederationKind;
  targets: {
    throughputMsgPerS: number;
    relayRatio: number;
    qos1DurableShare: number;
    mosquitto: typeof MOSQUITTO_TARGETS;
  };
}

export interface ThroughputResults {
  path: PathName;
  qos: 0 | 1;
  /** The search's first rate. */
  startRate: number;
  /** The highest rate with no loss and p99 under the limit, msg/s. */
  highestPass: number | undefined;
  lowestFail: number | undefined;
  /** Its own target: the throughput target on `cross`; none (null) elsewhere (see `qos1Target`, `mosquitto`). */
  met: boolean | null;
  trials: Trial[];
}

/** A run of a throughput search, with its verdict and, if it failed, why. */
export type Trial = RunResult & { pass: boolean; failures: string[] };

export interface Ratios {
  p50: number | undefined;
  p99: number | undefined;
}

export interface DelayAtRate {
  rate: number;
  /** Which repetition of the delay runs (from 1): each rate's paths are run once per repetition. */
  repetition: number;
  paths: Partial<Record<PathName, RunResult>>;
  /** (cross − same) / (relay − same): the federation hop against a bare process hop. */
  relayRatio: Ratios;
  /** (cross − same) / same: the paper's figure, for comparison. */
  paperRatio: Ratios;
  /** cross / mosquitto: mqfed across brokers against a static Mosquitto bridge. */
  bridgeRatio: Ratios;
  met: boolean;
}

/** Whether the work tree differs from its commit, or null outside a git checkout. */
export function gitDirty(): boolean | null {
  try {
    const status = execFileSync('git', ['status', '--porcelain'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5_000,
    });
    return status.trim().length > 0;
  } catch {
    return null;
  }
}

/** A ratio of delays; undefined where the denominator is not positive (noise). */
export function ratio(numerator: number, denominator: number): number | undefined {
  if (!(denominator > 0)) return undefined;
  return Math.round((numerator / denominator) * 100) / 100;
}

export function writeResults(path: string, results: LinkBenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
