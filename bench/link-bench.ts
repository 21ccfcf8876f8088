// `npm run bench:link`: what one peer link carries and what it costs, with every service in its
// own process, measured with the testbed's parts. See docs/benchmarks.md for what it measures
// and how to read it.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MOSQUITTO_SEARCH_HELP } from '../harness/baselines/mosquitto-binary.ts';
import { describeEnvironment, gitCommit } from '../harness/environment.ts';
import { Progress } from '../harness/progress.ts';
import { measureFloor } from '../harness/recording/measuring-floor.ts';
import { NoiseMonitor } from '../harness/recording/noise-monitor.ts';
import { publisherThread } from '../harness/workload/publisher-thread.ts';
import { LinkPhases } from './link-phases.ts';
import { PAYLOAD_BYTES } from './measure-run.ts';
import { compareWithMosquitto, MOSQUITTO_TARGETS } from './mosquitto-targets.ts';
import {
  type FederationKind,
  isMosquitto,
  PATH_NAMES,
  PATHS,
  type PathName,
  parsePaths,
} from './paths.ts';
import { roundRateUp } from './rate-search.ts';
import { formatReport } from './report-table.ts';
import {
  gitDirty,
  LINK_BENCH_SCHEMA,
  type LinkBenchParameters,
  type LinkBenchResults,
  type Qos1Target,
  ratio,
  type ThroughputResults,
  writeResults,
} from './results.ts';
import { SystemUnderTest } from './system-under-test.ts';

interface Flags {
  duration?: number;
  warmup?: number;
  quick: boolean;
  out?: string;
  rates: number[];
  startRate: number;
  maxRate: number;
  p99Limit: number;
  only?: 'throughput' | 'delay';
  cpuProf?: string;
  mosquitto: boolean;
  paths: PathName[];
  qos: (0 | 1)[];
  repeat?: number;
  federation: FederationKind;
}

const THROUGHPUT_TARGET = 100_000;
const RELAY_RATIO_TARGET = 1.2;
/** With the durable outbox, QoS 1 across the link should reach at least this share of QoS 0. */
const QOS1_DURABLE_SHARE = 0.5;

function positive(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new InvalidArgumentError('expected a number > 0.');
  return number;
}

function nonNegative(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0)
    throw new InvalidArgumentError('expected a number ≥ 0.');
  return number;
}

function pathList(value: string): PathName[] {
  try {
    return parsePaths(value);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
}

function qosList(value: string): (0 | 1)[] {
  const levels = value.split(',').map((part) => part.trim());
  if (levels.some((level) => level !== '0' && level !== '1')) {
    throw new InvalidArgumentError('expected 0, 1 or 0,1.');
  }
  return levels.map((level) => (level === '0' ? 0 : 1));
}

function count(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) {
    throw new InvalidArgumentError('expected a whole number ≥ 1.');
  }
  return number;
}

function rateList(value: string): number[] {
  return value.split(',').map((part) => Math.round(positive(part.trim())));
}

const flags = new Command('bench:link')
  .description(
    'Measure one peer link with every service in its own process, beside a Mosquitto bridge in ' +
      'the same run: the highest loss-free rate across it (QoS 0, TLS, QoS 1 with a durable and ' +
      'a memory outbox, and the bridge), the delay and CPU per message of every path, and the ' +
      'targets against the bridge as ratios',
  )
  .addHelpText('after', `\n${MOSQUITTO_SEARCH_HELP}`)
  .option('--duration <seconds>', 'length of each measured run (default: 30, --quick: 3)', positive)
  .option(
    '--warmup <seconds>',
    'start of each run left out of the figures (default: 10 % of --duration)',
    nonNegative,
  )
  .option('--quick', 'short runs: a smoke check, not figures to quote', false)
  .option(
    '--repeat <n>',
    'times each delay run is made, for medians and ranges (default: 3, --quick: 2)',
    count,
  )
  .option('--out <path>', 'results file (default: .data/bench/bench-link-<time>.json)')
  .option(
    '--rates <list>',
    'rates of the delay runs, msg/s, comma-separated',
    rateList,
    [200, 2000],
  )
  .option(
    '--start-rate <rate>',
    'first rate of the QoS 0 throughput search, msg/s (the others start from its result)',
    positive,
    10_000,
  )
  .option('--max-rate <rate>', 'highest rate the throughput search tries, msg/s', positive, 400_000)
  .option('--p99-limit <ms>', 'a throughput run passes only with p99 below this', positive, 50)
  .addOption(new Option('--only <part>', 'run one part only').choices(['throughput', 'delay']))
  .addOption(
    new Option(
      '--federation <kind>',
      'how the federation of the QoS 0 and durable QoS 1 paths runs: a process per service, or ' +
        'all in the one process of `mqfed up`',
    )
      .choices(['processes', 'up'])
      .default('processes'),
  )
  .option('--cpu-prof <dir>', 'write a V8 CPU profile of each broker into this folder')
  .option('--no-mosquitto', 'leave out the Mosquitto paths, and the comparison with them')
  .addOption(
    new Option('--paths <list>', `paths to measure, comma-separated, of: ${PATH_NAMES.join(', ')}`)
      .argParser(pathList)
      .default([...PATH_NAMES], 'all'),
  )
  .addOption(
    new Option('--qos <list>', 'only the paths at these QoS levels (QoS 1: the cross-qos1-* paths)')
      .argParser(qosList)
      .default([0, 1], '0,1'),
  )
  .parse()
  .opts<Flags>();

const mosquittoPath = (path: PathName) => isMosquitto(PATHS[path].system);
const paths = flags.paths.filter(
  (path) => flags.qos.includes(PATHS[path].qos) && (flags.mosquitto || !mosquittoPath(path)),
);
if (paths.length === 0) {
  process.stderr.write('no path left to measure: see --paths, --qos and --no-mosquitto\n');
  process.exit(2);
}
/** Paths not measured because the flags left them out. */
const leftOut = Object.fromEntries(
  PATH_NAMES.filter((path) => !paths.includes(path)).map((path) => [
    path,
    mosquittoPath(path) && !flags.mosquitto
      ? 'left out (--no-mosquitto)'
      : 'left out (--paths, --qos)',
  ]),
) as Partial<Record<PathName, string>>;
const durationS = flags.duration ?? (flags.quick ? 3 : 30);
const repeat = flags.repeat ?? (flags.quick ? 2 : 3);
const warmupS = flags.warmup ?? durationS / 10;
if (warmupS >= durationS) {
  process.stderr.write('--warmup must be shorter than --duration\n');
  process.exit(2);
}
const startedAt = new Date();
const outPath = resolve(
  flags.out ??
    join(
      fileURLToPath(new URL('../.data/bench/', import.meta.url)),
      `bench-link-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`,
    ),
);
const parameters: LinkBenchParameters = {
  quick: flags.quick,
  durationS,
  warmupS,
  payloadBytes: PAYLOAD_BYTES,
  paths,
  p99LimitMs: flags.p99Limit,
  search: {
    startRate: flags.startRate,
    growth: 2,
    maxRate: flags.maxRate,
    minRate: 100,
    // [design] Quick runs are a smoke check: a coarser bisection keeps three searches short.
    resolution: flags.quick ? 0.25 : 0.1,
  },
  delayRates: flags.rates,
  repeat,
  federation: flags.federation,
  targets: {
    throughputMsgPerS: THROUGHPUT_TARGET,
    relayRatio: RELAY_RATIO_TARGET,
    qos1DurableShare: QOS1_DURABLE_SHARE,
    mosquitto: MOSQUITTO_TARGETS,
  },
};

const progress = new Progress();

async function main(): Promise<void> {
  // The measuring floor first, while nothing else of the bench runs.
  progress.update('measuring the floor: scheduler, loopback, recording');
  const floor = await measureFloor();
  const noise = new NoiseMonitor();
  noise.start();
  progress.update('starting the services, the relay and the Mosquitto brokers the paths need');
  await using system = await SystemUnderTest.start({
    paths,
    federation: flags.federation,
    ...(flags.cpuProf === undefined
      ? {}
      : { brokerEnv: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${resolve(flags.cpuProf)}` } }),
  });
  // Named so that, should this process be killed with SIGKILL, what to clean up is on record.
  const pids = [...system.processIds()].map(([name, pid]) => `${name} ${pid}`);
  progress.log(`processes: ${pids.join(', ')}`);
  for (const [name, outbox] of Object.entries(system.outboxes)) {
    progress.log(`${name} QoS 1 outbox: ${outbox}`);
  }
  const bench = new LinkPhases({
    system,
    progress,
    durationS,
    warmupS,
    p99LimitMs: flags.p99Limit,
  });
  await bench.warmUp();
  const throughput = flags.only === 'delay' ? undefined : await searches(bench);
  const delay =
    flags.only === 'throughput'
      ? undefined
      : await bench.delay(flags.rates, RELAY_RATIO_TARGET, repeat);
  const results: LinkBenchResults = {
    schema: LINK_BENCH_SCHEMA,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    gitCommit: gitCommit(),
    gitDirty: gitDirty(),
    environment: describeEnvironment('processes', 'none', system.mosquitto),
    floor,
    noise: noise.stop(),
    parameters,
    skipped: { ...leftOut, ...system.skipped },
    outboxes: system.outboxes,
    throughput,
    qos1Target: throughput === undefined ? undefined : qos1Target(throughput),
    delay,
    mosquitto: compareWithMosquitto(delay, throughput, flags.federation),
  };
  writeResults(outPath, results);
  progress.clear();
  process.stdout.write(formatReport(results, outPath));
}

/**
 * A throughput search per link path: QoS 0 first, then the Mosquitto bridge and TLS starting at
 * the QoS 0 rate found, and each QoS 1 path at half of it. [design] Each one's first run is then
 * its target's own test (the bridge: mqfed's rate; durable QoS 1: half of it), and the search
 * needs fewer steps than from the fixed start.
 */
async function searches(bench: LinkPhases): Promise<ThroughputResults[]> {
  const results: ThroughputResults[] = [];
  let qos0: number | undefined;
  for (const path of bench.linkPaths()) {
    const qos = PATHS[path].qos;
    const startRate =
      qos0 === undefined
        ? parameters.search.startRate
        : roundRateUp(qos === 1 ? qos0 * QOS1_DURABLE_SHARE : qos0);
    const search = { ...parameters.search, startRate };
    const target = path === 'cross' ? THROUGHPUT_TARGET : undefined;
    const result = await bench.throughput(path, search, target);
    if (path === 'cross') qos0 = result.highestPass;
    results.push(result);
  }
  return results;
}

/** The durable QoS 1 path's highest pass against the QoS 0 path's, when both were searched. */
function qos1Target(throughput: readonly ThroughputResults[]): Qos1Target | undefined {
  const qos0 = throughput.find((result) => result.path === 'cross');
  const durable = throughput.find((result) => result.path === 'cross-qos1-durable');
  if (qos0 === undefined || durable === undefined) return undefined;
  if (qos0.highestPass === undefined) return { share: undefined, met: false };
  const share = ratio(durable.highestPass ?? 0, qos0.highestPass);
  return { share, met: (durable.highestPass ?? 0) >= qos0.highestPass * QOS1_DURABLE_SHARE };
}

// One publisher thread for the whole bench: its CPU figures run on, and renewed publishers join it.
publisherThread.hold(main).then(
  () => process.exit(0),
  (error: unknown) => {
    progress.log(`bench:link failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
