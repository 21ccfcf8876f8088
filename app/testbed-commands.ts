import { readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  bar,
  loadScenario,
  Progress,
  runClientHost,
  runScenario,
  type Scenario,
  type TopologyKind,
} from '../harness/index.ts';
import { renderReportHtml } from '../reports/index.ts';
import { chooseTopology } from './choose-topology.ts';

const SCENARIOS_DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));

interface RunFlags {
  out?: string;
  quick: boolean;
  seed?: number;
  baseline?: 'single' | 'mosquitto-bridge';
  topology?: TopologyKind;
}

function parseSeed(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected an integer.');
  return Number(value);
}

/** The scenario files shipped in scenarios/ (tests and fixtures are not scenarios). */
async function scenarioNames(): Promise<string[]> {
  return (await readdir(SCENARIOS_DIR))
    .filter((file) => file.endsWith('.ts') && !/\.(test|fixtures)\.ts$/.test(file))
    .map((file) => file.slice(0, -3))
    .sort();
}

const BASELINES = {
  single: { system: 'single-broker', label: 'single broker' },
  'mosquitto-bridge': { system: 'mosquitto-bridge', label: 'Mosquitto bridges' },
} as const;

/**
 * `--baseline`: every mqfed variant once more on the baseline system, same clients and network:
 * all clients on one broker, or the brokers as Mosquitto joined by static bridges.
 */
function withBaseline(scenario: Scenario, baseline: keyof typeof BASELINES): Scenario {
  const { system, label } = BASELINES[baseline];
  const extra = scenario.variants
    .filter((variant) => variant.system === 'mqfed')
    .map((variant) => ({ ...variant, name: `${variant.name} [${label}]`, system }));
  return { ...scenario, variants: [...scenario.variants, ...extra] };
}

const stamp = () => new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');

/** `mqfed list`, `mqfed run` and `mqfed client-host`: the testbed on the main command line. */
export function registerTestbedCommands(program: Command): void {
  program
    .command('client-host')
    .description(
      'Run the simulated clients of one host for a harness (a client container of a run)',
    )
    .requiredOption('--harness <url>', 'the WebSocket URL the harness gave this host')
    .action(async (flags: { harness: string }) => {
      await runClientHost(flags.harness, () =>
        process.stdout.write(`client-host ${new URL(flags.harness).host}\n`),
      );
    });

  program
    .command('list')
    .description('List the scenarios mqfed run knows by name')
    .action(async () => {
      for (const name of await scenarioNames()) {
        const scenario = await loadScenario(join(SCENARIOS_DIR, `${name}.ts`));
        process.stdout.write(`${name.padEnd(16)} ${scenario.description ?? ''}\n`);
      }
    });

  program
    .command('run')
    .description('Run a scenario; write DIR/results.json and DIR/report.html')
    .argument('<scenario>', 'a name from `mqfed list`, or a scenario file')
    .option('--out <dir>', 'where results.json and report.html go (default out/<scenario>-<time>)')
    .option('--quick', "the scenario's short timing: under a minute", false)
    .addOption(new Option('--seed <n>', 'seed for mobility and randomness').argParser(parseSeed))
    .addOption(
      new Option('--baseline <system>', 'also run the scenario on a baseline').choices([
        'single',
        'mosquitto-bridge',
      ]),
    )
    .addOption(
      new Option(
        '--topology <kind>',
        "where the services run (default: the scenario's; processes for most)",
      ).choices(['in-process', 'processes', 'containers']),
    )
    .action(async (name: string, flags: RunFlags) => {
      const known = await scenarioNames();
      const file = known.includes(name) ? join(SCENARIOS_DIR, `${name}.ts`) : name;
      let scenario = await loadScenario(file);
      if (flags.baseline !== undefined) scenario = withBaseline(scenario, flags.baseline);
      const outDir = resolve(flags.out ?? join('out', `${scenario.name}-${stamp()}`));
      const progress = new Progress();
      const topology = await chooseTopology(scenario, flags.topology, progress);
      progress.log(
        `running ${scenario.name} on ${topology.kind}: ${scenario.variants.length} variants` +
          (flags.quick ? ' (quick)' : ''),
      );
      const { results, resultsPath } = await runScenario(scenario, {
        quick: flags.quick,
        outDir,
        topology,
        ...(flags.seed === undefined ? {} : { seed: flags.seed }),
        onProgress: (p) =>
          progress.update(
            `variant ${p.index + 1}/${p.of} ${p.variant} ${bar(p.elapsedMs / p.totalMs)} ${p.phase}`,
          ),
      });
      progress.clear();
      const reportPath = join(dirname(resultsPath ?? join(outDir, 'results.json')), 'report.html');
      await writeFile(reportPath, renderReportHtml(results, { sources: [resultsPath ?? ''] }));
      for (const v of results.variants) {
        process.stdout.write(
          `${v.name.padEnd(32)} p50 ${v.latencyMs.p50.toFixed(3)} ms  p99 ${v.latencyMs.p99.toFixed(3)} ms  ` +
            `sent ${v.sent}  received ${v.received}  lost ${v.lost}\n`,
        );
      }
      const c = results.comparison;
      if (c !== null) {
        const paper = results.paper.overhead;
        process.stdout.write(
          `overhead p50 ${(c.overheadP50 * 100).toFixed(1)} %, p99 ${(c.overheadP99 * 100).toFixed(1)} %` +
            (paper === null ? '\n' : ` (paper: ${(paper * 100).toFixed(0)} %)\n`),
        );
      }
      process.stdout.write(`results ${resultsPath}\nreport ${reportPath}\n`);
    });
}
