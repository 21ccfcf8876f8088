import { bar, Progress } from '../harness/progress.ts';
import { Budget } from './fuzz-budget.ts';
import { fuzzHttp } from './fuzz-http.ts';
import { fuzzPeerLink } from './fuzz-peer-link.ts';
import { type Crash, type Memory, startFuzzServices } from './fuzz-services.ts';
import { Tally, type TargetFigures } from './fuzz-tally.ts';
import { fuzzWatch } from './fuzz-watch.ts';
import type { FuzzReady } from './fuzz-wire.ts';

export const TARGET_NAMES = ['peer', 'watch', 'http'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

type Fuzzer = (services: FuzzReady, budget: Budget, seed: number, tally: Tally) => Promise<void>;

const FUZZERS: Record<TargetName, Fuzzer> = {
  peer: fuzzPeerLink,
  watch: fuzzWatch,
  http: fuzzHttp,
};

/**
 * Each target's share of the frames. [design] The peer link gets half: it is the surface other
 * brokers reach and the one with the most state; HTTP requests cost the most per frame.
 */
const SHARES: Record<TargetName, number> = { peer: 0.5, watch: 0.25, http: 0.25 };

/** After-GC heap may grow by this share across the run and still count as flat. [design] */
export const HEAP_GROWTH_BOUND = 0.1;

/** Memory that could not be read: the services process crashed. */
const UNREAD: Memory = { rss: Number.NaN, heapUsed: Number.NaN, external: Number.NaN };

export interface FuzzOptions {
  frames: number;
  seed: number;
  targets?: readonly TargetName[];
  /** Frames per target before the first memory reading, so warm-up is not taken for a leak. */
  warmupFrames?: number;
  progress?: Progress;
}

export interface FuzzResults {
  seed: number;
  frames: number;
  seconds: number;
  targets: TargetFigures[];
  crashes: Crash[];
  serverErrors: number;
  anomalies: number;
  memory: {
    /** After warm-up, after forced GC. */
    before: Memory;
    /** After each target, after forced GC. */
    afterTarget: Record<string, Memory>;
    after: Memory;
    heapGrowth: number;
    rssGrowth: number;
  };
  heapFlat: boolean;
  /** No crash, no 5xx, no anomaly, flat heap. */
  passed: boolean;
  /** The services' log tail when something failed. */
  log?: string;
}

/** Starts the services process, fuzzes every target in turn, and measures. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzResults> {
  const progress = options.progress ?? new Progress();
  const targets = options.targets ?? TARGET_NAMES;
  const started = performance.now();
  await using services = await startFuzzServices();
  const shareTotal = targets.reduce((sum, name) => sum + SHARES[name], 0);

  const warmup = options.warmupFrames ?? Math.max(5_000, Math.round(options.frames * 0.01));
  for (const name of targets) {
    const seed = options.seed ^ 0x5eed;
    await FUZZERS[name](services.ready, new Budget(warmup), seed, new Tally(name));
  }
  const before = services.crashes.length > 0 ? UNREAD : await services.memory();
  progress.log(
    `warm-up done (${warmup} frames per target); heap ${mib(before.heapUsed)} MiB, RSS ${mib(before.rss)} MiB`,
  );

  const figures: TargetFigures[] = [];
  const afterTarget: Record<string, Memory> = {};
  for (const name of targets) {
    const frames = Math.round((options.frames * SHARES[name]) / shareTotal);
    const tally = new Tally(name);
    const startedAt = performance.now();
    let taken = 0;
    const budget = new Budget(frames, (count) => {
      taken += count;
      if (taken % 1000 < count) {
        const seconds = (performance.now() - startedAt) / 1000;
        progress.update(
          `${name.padEnd(5)} ${bar(taken / frames)} ${taken}/${frames} frames, ` +
            `${Math.round(taken / Math.max(seconds, 1e-3))}/s, crashes ${services.crashes.length}, ` +
            `5xx ${tally.serverErrors}`,
        );
      }
    });
    await FUZZERS[name](services.ready, budget, options.seed, tally);
    const result = tally.figures();
    figures.push(result);
    // After a crash there is nothing left to fuzz or to measure.
    if (services.crashes.length > 0) break;
    afterTarget[name] = await services.memory();
    progress.log(
      `${name}: ${result.frames} frames in ${result.seconds} s (${result.framesPerSecond}/s), ` +
        `5xx ${result.serverErrors}, anomalies ${result.anomalies}, ` +
        `heap ${mib(afterTarget[name].heapUsed)} MiB, external ${mib(afterTarget[name].external)} MiB, ` +
        `RSS ${mib(afterTarget[name].rss)} MiB`,
    );
  }
  const after = services.crashes.length > 0 ? UNREAD : await services.memory();
  await services.close();

  const heapGrowth = after.heapUsed / before.heapUsed - 1;
  const serverErrors = figures.reduce((sum, target) => sum + target.serverErrors, 0);
  const anomalies = figures.reduce((sum, target) => sum + target.anomalies, 0);
  const heapFlat = heapGrowth < HEAP_GROWTH_BOUND;
  const crashes = [...services.crashes];
  const passed = crashes.length === 0 && serverErrors === 0 && anomalies === 0 && heapFlat;
  return {
    seed: options.seed,
    frames: figures.reduce((sum, target) => sum + target.frames, 0),
    seconds: Math.round((performance.now() - started) / 100) / 10,
    targets: figures,
    crashes,
    serverErrors,
    anomalies,
    memory: { before, afterTarget, after, heapGrowth, rssGrowth: after.rss / before.rss - 1 },
    heapFlat,
    passed,
    ...(passed ? {} : { log: services.logTail() }),
  };
}

export function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
