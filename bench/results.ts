import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { RunResult } from './measure-run.ts';
import type { PathName } from './mqtt-clients.ts';
import type { SearchOptions } from './rate-search.ts';

/** The results file: every figure, the parameters and the machine, enough to compare runs. */
export interface LinkBenchResults {
  schema: 'mqfed-bench-link/1';
  startedAt: string;
  finishedAt: string;
  git: { commit: string; dirty: boolean } | undefined;
  environment: Environment;
  parameters: LinkBenchParameters;
  throughput: ThroughputResults | undefined;
  delay: DelayAtRate[] | undefined;
}

export interface LinkBenchParameters {
  quick: boolean;
  durationS: number;
  warmupS: number;
  payloadBytes: number;
  qos: 0;
  p99LimitMs: number;
  search: SearchOptions;
  delayRates: number[];
  targets: { throughputMsgPerS: number; relayRatio: number };
}

export interface ThroughputResults {
  /** The highest rate with no loss and p99 under the limit, msg/s. */
  highestPass: number | undefined;
  lowestFail: number | undefined;
  met: boolean;
  trials: (RunResult & { pass: boolean })[];
}

export interface Ratios {
  p50: number | undefined;
  p99: number | undefined;
}

export interface DelayAtRate {
  rate: number;
  paths: Record<PathName, RunResult>;
  /** (cross − same) / (relay − same): the federation hop against a bare process hop. */
  relayRatio: Ratios;
  /** (cross − same) / same: the paper's figure, for comparison. */
  paperRatio: Ratios;
  met: boolean;
}

export interface Environment {
  node: string;
  v8: string;
  platform: string;
  release: string;
  arch: string;
  cpus: { count: number; model: string };
  memoryGiB: number;
  loadAverage: { start: number[]; end: number[] };
}

export function captureEnvironment(): Environment {
  const [first] = cpus();
  const load = loadavg().map((value) => Math.round(value * 100) / 100);
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    release: release(),
    arch: arch(),
    cpus: { count: availableParallelism(), model: first?.model.trim() ?? 'unknown' },
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: { start: load, end: load },
  };
}

export function currentLoadAverage(): number[] {
  return loadavg().map((value) => Math.round(value * 100) / 100);
}

/** The commit measured, and whether the work tree differed from it. */
export function gitState(): LinkBenchResults['git'] {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain').length > 0 };
  } catch {
    return undefined;
  }
}

/** A ratio of delay differences; undefined where the denominator is not positive (noise). */
export function ratio(numerator: number, denominator: number): number | undefined {
  if (!(denominator > 0)) return undefined;
  return Math.round((numerator / denominator) * 100) / 100;
}

export function writeResults(path: string, results: LinkBenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
