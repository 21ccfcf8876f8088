import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Histogram } from 'hdr-histogram-js';
import { parseWith } from '../system/protocol/index.ts';
import { compareSameAndCross } from './comparison.ts';
import { describeEnvironment, gitCommit } from './environment.ts';
import type { ImpairmentMethod } from './network/network-spec.ts';
import { mergeHistograms } from './recording/histogram.ts';
import { ResourceSampler } from './recording/resource-sampler.ts';
import { RESULTS_SCHEMA, type Results, resultsSchema, type Variant } from './results-schema.ts';
import { runVariant, type VariantProgress } from './run-variant.ts';
import { effectiveTiming, parseScenario, type Scenario } from './scenario.ts';
import { IN_PROCESS_SERVICE, inProcessTopology } from './topology/in-process.ts';
import type { Topology } from './topology/topology.ts';

export interface RunScenarioOptions {
  /** Use the scenario's quick timing (or a shortened one). */
  quick?: boolean;
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Where `results.json` is written; nothing is written without it. */
  outDir?: string;
  /** Defaults to the in-process topology. */
  topology?: Topology;
  onProgress?: (progress: VariantProgress & { index: number; of: number }) => void;
}

export interface ScenarioRun {
  results: Results;
  /** The path of `results.json`, when `outDir` was given. */
  resultsPath?: string;
}

/**
 * Runs every variant of a scenario, one after the other, and assembles the results document.
 * The document is validated against `resultsSchema` before it is written, so a file on disk is
 * always one that reports can read.
 */
export async function runScenario(
  input: Scenario,
  options: RunScenarioOptions = {},
): Promise<ScenarioRun> {
  const scenario = parseScenario(input);
  const quick = options.quick ?? false;
  const seed = options.seed ?? scenario.seed;
  const { durationMs, warmupMs } = effectiveTiming(scenario, quick);
  const topology = options.topology ?? inProcessTopology();
  const startedAt = new Date();
  const began = performance.now();
  // [design] In-process, this process holds every service; with service processes it holds the
  // simulated clients only, and each service process is sampled by its process id.
  const sampler = new ResourceSampler(
    topology.kind === 'in-process' ? IN_PROCESS_SERVICE : 'harness (clients only)',
  );
  sampler.start();

  const variants: Variant[] = [];
  const same: Histogram[] = [];
  const cross: Histogram[] = [];
  // Variants share the scenario's network; a single-broker baseline may need none of it.
  let impairment: ImpairmentMethod = 'none';
  const compared = new Set(
    scenario.compareVariants ??
      scenario.variants.filter((v) => v.system === 'mqfed').map((v) => v.name),
  );
  try {
    for (const [index, variant] of scenario.variants.entries()) {
      const { result, recorder } = await runVariant({
        scenario,
        variant,
        durationMs,
        warmupMs,
        seed,
        topology,
        onTopologyStarted: (started) => {
          if (started.impairment !== 'none') impairment = started.impairment;
          const processIds = started.processIds?.bind(started);
          if (processIds === undefined) return;
          // Brokers are named by the scenario (`a`, `b`); say what they are in the results.
          const label = (name: string) =>
            started.brokers.includes(name) ? `broker ${name}` : name;
          sampler.watch(
            () => new Map([...processIds()].map(([name, pid]) => [label(name), pid] as const)),
          );
        },
        onTopologyClosing: () => {
          sampler.sample();
          sampler.unwatch();
        },
        onProgress: (progress) =>
          options.onProgress?.({ ...progress, index, of: scenario.variants.length }),
      });
      variants.push(result);
      if (compared.has(variant.name)) {
        same.push(recorder.histogramOf({ path: 'same-broker', phase: 'steady' }));
        cross.push(recorder.histogramOf({ path: 'cross-broker', phase: 'steady' }));
      }
    }
  } finally {
    sampler.sample();
  }
  const services = sampler.stop();

  const document: Results = {
    schema: RESULTS_SCHEMA,
    scenario: scenario.name,
    description: scenario.description,
    parameters: parametersOf(scenario, { quick, durationMs, warmupMs }),
    seed,
    gitCommit: gitCommit(),
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - began),
    environment: describeEnvironment(topology.kind, impairment),
    variants,
    services,
    comparison: compareSameAndCross(mergeHistograms(same), mergeHistograms(cross)),
    paper: scenario.paper,
  };
  const results = parseWith(resultsSchema, document);
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
  timing: { quick: boolean; durationMs: number; warmupMs: number },
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
