import { readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  bar,
  didYouMean,
  type Interval,
  loadScenario,
  MOSQUITTO_SEARCH_HELP,
  Progress,
  type Results,
  runScenario,
  type Scenario,
  type TopologyKind,
} from '../harness/index.ts';
import {
  clockSummaryText,
  deliveryTableText,
  handoverTableText,
  hostLoadText,
  renderReportHtml,
} from '../reports/index.ts';
import { chooseTopology } from './choose-topology.ts';
import { registerHostCommands } from './host-commands.ts';

const SCENARIOS_DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));

interface RunFlags {
  out?: string;
  quick: boolean;
  seed?: number;
  repeat?: number;
  pin: boolean;
  baseline?: 'single' | 'mosquitto-bridge';
  topology?: TopologyKind;
}

function parseSeed(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected an integer.');
  return Number(value);
}

/** Repetitions: 1 to 100; more than that is a typo, not an experiment. */
function parseRepeat(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 100) {
    throw new InvalidArgumentError('expected a whole number from 1 to 100.');
  }
  return Number(value);
}

/** `0.512 ms (0.498–0.530, n=5)`; one repetition has no interval, and says so. */
function withInterval(interval: Interval, unit: Unit): string {
  const { digits, scale, suffix } = UNITS[unit];
  const text = (value: number) => (value * scale).toFixed(digits);
  if (interval.n < 2) return `${text(interval.estimate)}${suffix} (1 run, no interval)`;
  return `${text(interval.estimate)}${suffix} (${text(interval.lo)}–${text(interval.hi)}, n=${interval.n})`;
}

const UNITS = {
  ms: { digits: 3, scale: 1, suffix: ' ms' },
  percent: { digits: 1, scale: 100, suffix: ' %' },
} as const;
type Unit = keyof typeof UNITS;

const msText = (value: number) => `${value.toFixed(3)} ms`;

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

/**
 * `mqfed list`, `mqfed run`, and the commands a run starts on its hosts (`client-host`,
 * `link-proxies`): the testbed on the main command line.
 */
export function registerTestbedCommands(program: Command): void {
  registerHostCommands(program);

  program
    .command('list')
    .description('List the scenarios mqfed run knows by name (reads no MQFED_* variables)')
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
    .addOption(
      new Option(
        '--out <dir>',
        'where results.json and report.html go (default out/<scenario>-<time>)',
      ).env('MQFED_OUT'),
    )
    .addOption(
      new Option('--quick', "the scenario's short timing: under a minute")
        .env('MQFED_QUICK')
        .default(false),
    )
    .addOption(
      new Option(
        '--repeat <n>',
        "repetitions of every variant, each on a fresh topology, interleaved (default: the scenario's)",
      )
        .env('MQFED_REPEAT')
        .argParser(parseRepeat),
    )
    .addOption(
      new Option(
        '--pin',
        'pin the harness and the services to CPUs (taskset), so they do not preempt each other',
      )
        .env('MQFED_PIN')
        .default(false),
    )
    .addOption(
      new Option('--seed <n>', 'seed for mobility and randomness')
        .env('MQFED_SEED')
        .argParser(parseSeed),
    )
    .addOption(
      new Option(
        '--baseline <system>',
        `also run the scenario on a baseline (${MOSQUITTO_SEARCH_HELP})`,
      )
        .env('MQFED_BASELINE')
        .choices(['single', 'mosquitto-bridge']),
    )
    .addOption(
      new Option('--topology <kind>', "where the services run (default: the scenario's)")
        .env('MQFED_TOPOLOGY')
        .choices(['in-process', 'processes', 'containers', 'swarm']),
    )
    .action(async (name: string, flags: RunFlags, command: Command) => {
      const known = await scenarioNames();
      const isFile = /[\\/]/.test(name) || /\.[cm]?[jt]s$/.test(name);
      if (!known.includes(name) && !isFile) {
        const near = didYouMean(name, known);
        // A usage error like a misspelled flag: one line, exit code 2.
        command.error(
          `no scenario "${name}"` +
            (near === undefined ? '' : `; did you mean "${near}"?`) +
            '; `mqfed list` names them all, and a file path works too',
          { exitCode: 2, code: 'mqfed.unknownScenario' },
        );
      }
      const file = known.includes(name) ? join(SCENARIOS_DIR, `${name}.ts`) : name;
      let scenario = await loadScenario(file);
      if (flags.baseline !== undefined) scenario = withBaseline(scenario, flags.baseline);
      const outDir = resolve(flags.out ?? join('out', `${scenario.name}-${stamp()}`));
      const progress = new Progress();
      const topology = await chooseTopology(scenario, flags.topology, progress);
      const repeat = flags.repeat ?? repeatOf(scenario, flags.quick);
      progress.log(
        `running ${scenario.name} on ${topology.kind}: ${scenario.variants.length} variants` +
          (repeat > 1 ? ` × ${repeat} repetitions, interleaved` : '') +
          (flags.quick ? ' (quick)' : ''),
      );
      const { results, resultsPath } = await runScenario(scenario, {
        quick: flags.quick,
        outDir,
        topology,
        repeat,
        pin: flags.pin,
        ...(flags.seed === undefined ? {} : { seed: flags.seed }),
        onProgress: (p) =>
          progress.update(
            `run ${p.index + 1}/${p.of}` +
              (p.repeat > 1 ? ` (repetition ${p.repetition + 1}/${p.repeat})` : '') +
              ` ${p.variant} ${bar(p.elapsedMs / p.totalMs)} ${p.phase}`,
          ),
      });
      progress.clear();
      const reportPath = join(dirname(resultsPath ?? join(outDir, 'results.json')), 'report.html');
      await writeFile(reportPath, renderReportHtml(results, { sources: [resultsPath ?? ''] }));
      process.stdout.write(terminalSummary(results));
      process.stdout.write(`results ${resultsPath}\nreport ${reportPath}\n`);
    });
}

/** The repetitions a scenario asks for: its quick ones under `--quick`, else its own, else 1. */
function repeatOf(scenario: Scenario, quick: boolean): number {
  return (quick ? scenario.quick?.repeat : undefined) ?? scenario.repeat;
}

/**
 * What a run prints when it ends: per variant the median p50 and p99 over repetitions with their
 * 95 % intervals, counts, and publisher lag; then the overhead, naming the two paths it compares,
 * beside the paper's figure; then any warning about a busy machine.
 */
export function terminalSummary(results: Results): string {
  const lines: string[] = [];
  const width = Math.max(24, ...results.variants.map((v) => v.name.length + 2));
  for (const v of results.variants) {
    const lag = v.publisherLagMs === null ? '' : `  lag p99 ${msText(v.publisherLagMs.p99)}`;
    lines.push(
      `${v.name.padEnd(width)} p50 ${withInterval(v.intervals.p50Ms, 'ms')}  ` +
        `p99 ${withInterval(v.intervals.p99Ms, 'ms')}  ` +
        `sent ${v.sent}  received ${v.received}  lost ${v.lost}${lag}`,
    );
  }
  const c = results.comparison;
  if (c !== null) {
    const paper = results.paper.overhead;
    lines.push(
      `overhead of cross-broker over same-broker delay: p50 ${withInterval(c.intervals.overheadP50, 'percent')}, ` +
        `p99 ${withInterval(c.intervals.overheadP99, 'percent')}` +
        (paper === null ? '' : ` (paper: ${(paper * 100).toFixed(0)} %)`),
    );
  }
  if (results.floor !== null) {
    const f = results.floor;
    lines.push(
      `measuring floor: scheduler lag p99 ${msText(f.schedulerLagMs.p99)}, loopback p50 ` +
        `${msText(f.loopbackMs.p50)}, recording ${f.recordCostUs.toFixed(2)} µs per message`,
    );
  }
  // What was sent, acknowledged, delivered, lost and duplicated, per variant and QoS.
  const delivery = deliveryTableText(results).trimEnd();
  if (delivery !== '') lines.push(delivery);
  // What the mobile clients' moves cost them, per variant.
  const handovers = handoverTableText(results).trimEnd();
  if (handovers !== '') lines.push(handovers);
  // Where clients ran on client hosts: how well their clocks were read, and any drift.
  const clocks = clockSummaryText(results).trimEnd();
  if (clocks !== '') lines.push(clocks);
  // CPU and memory per host and per 1,000 clients, where clients ran on client hosts.
  const hostLoad = hostLoadText(results).trimEnd();
  if (hostLoad !== '') lines.push(hostLoad);
  // Where a swarm run put its services: a figure is not read without it.
  if (results.environment.placement !== undefined)
    lines.push(results.environment.placement.summary);
  for (const warning of results.noise?.warnings ?? []) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
