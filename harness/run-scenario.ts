import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseWith } from '../system/protocol/index.ts';
import { requireMosquitto } from './baselines/mosquitto-binary.ts';
import { describeEnvironment, gitCommit } from './environment.ts';
import type { ImpairmentMethod } from './network/network-spec.ts';
import { harnessLabel, serviceLabel } from './recording/cost-meter.ts';
import { applyPinning, type CpuPinning } from './recording/cpu-pinning.ts';
import { measureFloor } from './recording/measuring-floor.ts';
import { NoiseMonitor } from './recording/noise-monitor.ts';
import { ResourceSampler } from './recording/resource-sampler.ts';
import {
  compareRepetitions,
  type KeptRepetition,
  keepRepetition,
  mergeRepetitions,
} from './repetitions.ts';
import {
  hostLoadOf,
  type Noise,
  RESULTS_SCHEMA,
  type Results,
  resultsSchema,
} from './results/index.ts';
import { runVariant, type VariantProgress } from './run-variant.ts';
import { applyQuick, effectiveTiming, parseScenario, type Scenario } from './scenario.ts';
import { inProcessTopology } from './topology/in-process.ts';
import type { StartedTopology, Topology, TopologyPlacement } from './topology/topology.ts';

export interface RunScenarioOptions {
  /** Use the scenario's quick timing (or a shortened one). */
  quick?: boolean;
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Where `results.json` is written; nothing is written without it. */
  outDir?: string;
  /** Defaults to the in-process topology. */
  topology?: Topology;
  /** Repetitions of every variant, each on a fresh topology; default: the scenario's. */
  repeat?: number;
  /** Pin the harness and the services to CPUs where the OS allows it (cpu-pinning.ts). */
  pin?: boolean;
  /** Measure the harness's own floor before the variants (default true; about 1.6 s). */
  measureFloor?: boolean;
  /**
   * `index` counts variant runs over all repetitions (0 .. of − 1); `repetition` is 0-based.
   */
  onProgress?: (
    progress: VariantProgress & { index: number; of: number; repetition: number; repeat: number },
  ) => void;
}

/**
 * The order of the variants in repetition `r`: rotated by r. [design] Repetitions interleave
 * (A B C, B C A, C A B …) rather than run each variant N times in a row, so slow drift of the
 * machine (a build starting beside it, thermal throttling) reaches every variant alike, and no
 * variant always runs first on a cold machine.
 */
export function repetitionOrder<T>(variants: readonly T[], repetition: number): T[] {
  const shift = repetition % Math.max(1, variants.length);
  return [...variants.slice(shift), ...variants.slice(0, shift)];
}

export interface ScenarioRun {
  results: Results;
  /** The path of `results.json`, when `outDir` was given. */
  resultsPath?: string;
}

/**
 * Runs every variant of a scenario `repeat` times, interleaved, and assembles the results
 * document. The document is validated against `resultsSchema` before it is written, so a file on
 * disk is always one that reports can read.
 */
export async function runScenario(
  input: Scenario,
  options: RunScenarioOptions = {},
): Promise<ScenarioRun> {
  const quick = options.quick ?? false;
  // Under --quick, the smaller run the scenario declares, if it does.
  const scenario = quick ? applyQuick(parseScenario(input)) : parseScenario(input);
  const seed = options.seed ?? scenario.seed;
  const { durationMs, warmupMs } = effectiveTiming(scenario, quick);
  const topology = options.topology ?? inProcessTopology();
  // Fails before anything runs when the baseline has no broker; the baseline's brokers start
  // through the same search, so this also names the one that ran.
  const mosquitto = scenario.variants.some((v) => v.system === 'mosquitto-bridge')
    ? await requireMosquitto()
    : undefined;
  const startedAt = new Date();
  const began = performance.now();
  // [design] In-process, this process holds every service; with service processes it holds the
  // simulated clients only, and each service process is sampled by its process id.
  const sampler = new ResourceSampler(harnessLabel(topology));
  // The machine's noise around the whole run; the run's own processes are the harness's tree and
  // the services of whichever topology is up.
  let current: StartedTopology | undefined;
  let pinning: CpuPinning | undefined;
  let pinned: string | null = null;
  const noise = new NoiseMonitor({ ownPids: () => current?.processIds?.().values() ?? [] });
  noise.start();
  sampler.start();

  const repeat = options.repeat ?? (quick ? scenario.quick?.repeat : undefined) ?? scenario.repeat;
  // Kept repetitions by variant (in the scenario's order), and by repetition for the comparison.
  const kept = new Map<string, KeptRepetition[]>(scenario.variants.map((v) => [v.name, []]));
  const byRepetition: KeptRepetition[][] = [];
  // Variants share the scenario's network; a single-broker baseline may need none of it.
  let impairment: ImpairmentMethod = 'none';
  const compared = new Set(
    scenario.compareVariants ??
      scenario.variants.filter((v) => v.system === 'mqfed').map((v) => v.name),
  );
  const of = scenario.variants.length * repeat;
  let noiseFigures: Noise | null = null;
  let placement: TopologyPlacement | undefined;
  // The harness's own floor, first, while nothing else of the run is running (design §5).
  const floor = options.measureFloor === false ? null : await measureFloor();
  try {
    for (let repetition = 0; repetition < repeat; repetition++) {
      const comparedHere: KeptRepetition[] = [];
      for (const [position, variant] of repetitionOrder(scenario.variants, repetition).entries()) {
        const index = repetition * scenario.variants.length + position;
        const run = await runVariant({
          scenario,
          variant,
          durationMs,
          warmupMs,
          // Each repetition draws its own mobility and impairment, reproducibly from the seed.
          seed: seed + repetition,
          topology,
          onTopologyStarted: async (started) => {
            current = started;
            if (started.impairment !== 'none') impairment = started.impairment;
            placement ??= started.placement?.();
            pinning = await applyPinning(started, { enabled: options.pin ?? false });
            pinned = pinning.description ?? pinned;
            const processIds = started.processIds?.bind(started);
            if (processIds === undefined) return;
            sampler.watch(
              () =>
                new Map(
                  [...processIds()].map(
                    ([name, pid]) => [serviceLabel(started, name), pid] as const,
                  ),
                ),
            );
          },
          onTopologyClosing: async () => {
            sampler.sample();
            sampler.unwatch();
            await pinning?.close();
            pinning = undefined;
            current = undefined;
          },
          onProgress: (progress) =>
            options.onProgress?.({ ...progress, index, of, repetition, repeat }),
        });
        const one = keepRepetition(repetition, run);
        kept.get(variant.name)!.push(one);
        if (compared.has(variant.name)) comparedHere.push(one);
      }
      byRepetition.push(comparedHere);
    }
  } finally {
    sampler.sample();
    // On success the document takes its figures; on failure the monitor must still stop.
    noiseFigures = noise.stop(pinned);
  }
  const services = sampler.stop();

  const document: Results = {
    schema: RESULTS_SCHEMA,
    repetitions: repeat,
    scenario: scenario.name,
    description: scenario.description,
    parameters: parametersOf(scenario, { quick, durationMs, warmupMs, repeat }),
    seed,
    gitCommit: gitCommit(),
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - began),
    environment: {
      ...describeEnvironment(topology.kind, impairment, mosquitto),
      ...(placement === undefined ? {} : { placement }),
    },
    variants: scenario.variants.map((variant) => mergeRepetitions(kept.get(variant.name)!)),
    floor,
    noise: noiseFigures,
    services,
    comparison: compareRepetitions(byRepetition),
    paper: scenario.paper,
  };
  // Load per host, derived from the samples: what sizing a crowd over several hosts needs.
  const hostLoad = hostLoadOf(document);
  const results = parseWith(
    resultsSchema,
    hostLoad === undefined ? document : { ...document, hostLoad },
  );
  if (options.outDir === undefined) return { results };
  await mkdir(options.outDir, { recursive: true });
  const resultsPath = join(options.outDir, 'results.json');
  await writeFile(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  return { results, resultsPath };
}

/**
 * The run's parameters as plain JSON: the scenario with its defaults filled in and the timing
 * actually used. A custom mobility model is a function, so it is recorded by its name.
 */
function parametersOf(
  scenario: Scenario,
  timing: { quick: boolean; durationMs: number; warmupMs: number; repeat: number },
): Record<string, unknown> {
  const plain = JSON.parse(
    JSON.stringify(scenario, (_key, value: unknown) =>
      typeof value === 'function' ? '(custom function)' : value,
    ),
  ) as Record<string, unknown>;
  delete plain.name;
  delete plain.description;
  delete plain.paper;
  delete plain.seed;
  return {
    ...plain,
    declaredDurationMs: scenario.durationMs,
    declaredWarmupMs: scenario.warmupMs,
    ...timing,
  };
}
