// `npm run bench:link`: what one peer link carries and what it costs, with every service in its
// own process, measured with the testbed's parts. See docs/benchmarks.md for what it measures
// and how to read it.
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { describeEnvironment, gitCommit } from '../harness/environment.ts';
import { Progress } from '../harness/progress.ts';
import { measureFloor } from '../harness/recording/measuring-floor.ts';
import { NoiseMonitor } from '../harness/recording/noise-monitor.ts';
import { publisherThread } from '../harness/workload/publisher-thread.ts';
import { LinkPhases } from './link-phases.ts';
import { PAYLOAD_BYTES } from './measure-run.ts';
import { formatReport } from './report-table.ts';
import {
  gitDirty,
  LINK_BENCH_SCHEMA,
  type LinkBenchParameters,
  type LinkBenchResults,
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
}

const THROUGHPUT_TARGET = 100_000;
const RELAY_RATIO_TARGET = 1.2;

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

function rateList(value: string): number[] {
  return value.split(',').map((part) => Math.round(positive(part.trim())));
}

const flags = new Command('bench:link')
  .description(
    'Measure one peer link with every service in its own process: the highest loss-free QoS 0 ' +
      'rate, and the delay of the same-broker, cross-broker, TCP-relay and Mosquitto-bridge paths',
  )
  .option('--duration <seconds>', 'length of each measured run (default: 30, --quick: 3)', positive)
  .option(
    '--warmup <seconds>',
    'start of each run left out of the figures (default: 10 % of --duration)',
    nonNegative,
  )
  .option('--quick', 'short runs: a smoke check, not figures to quote', false)
  .option('--out <path>', 'results file (default: .data/bench/bench-link-<time>.json)')
  .option(
    '--rates <list>',
    'rates of the delay runs, msg/s, comma-separated',
    rateList,
    [200, 2000],
  )
  .option('--start-rate <rate>', 'first rate of the throughput search, msg/s', positive, 10_000)
  .option('--max-rate <rate>', 'highest rate the throughput search tries, msg/s', positive, 400_000)
  .option('--p99-limit <ms>', 'a throughput run passes only with p99 below this', positive, 50)
  .addOption(new Option('--only <part>', 'run one part only').choices(['throughput', 'delay']))
  .option('--cpu-prof <dir>', 'write a V8 CPU profile of each broker into this folder')
  .option('--no-mosquitto', 'leave out the Mosquitto bridge path')
  .parse()
  .opts<Flags>();

const durationS = flags.duration ?? (flags.quick ? 3 : 30);
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
  qos: 0,
  p99LimitMs: flags.p99Limit,
  search: {
    startRate: flags.startRate,
    growth: 2,
    maxRate: flags.maxRate,
    minRate: 100,
    resolution: 0.1,
  },
  delayRates: flags.rates,
  targets: { throughputMsgPerS: THROUGHPUT_TARGET, relayRatio: RELAY_RATIO_TARGET },
};

const progress = new Progress();

async function main(): Promise<void> {
  // The measuring floor first, while nothing else of the bench runs.
  progress.update('measuring the floor: scheduler, loopback, recording');
  const floor = await measureFloor();
  const noise = new NoiseMonitor();
  noise.start();
  progress.update('starting auth, discovery, two brokers, the relay and two Mosquitto brokers');
  await using system = await SystemUnderTest.start({
    mosquitto: flags.mosquitto,
    ...(flags.cpuProf === undefined
      ? {}
      : { brokerEnv: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${resolve(flags.cpuProf)}` } }),
  });
  // Named so that, should this process be killed with SIGKILL, what to clean up is on record.
  const pids = [...system.processIds()].map(([name, pid]) => `${name} ${pid}`);
  progress.log(`processes: ${pids.join(', ')}`);
  const bench = new LinkPhases({
    system,
    progress,
    durationS,
    warmupS,
    p99LimitMs: flags.p99Limit,
  });
  await bench.warmUp();
  const throughput =
    flags.only === 'delay'
      ? undefined
      : await bench.throughput(parameters.search, THROUGHPUT_TARGET);
  const delay =
    flags.only === 'throughput' ? undefined : await bench.delay(flags.rates, RELAY_RATIO_TARGET);
  const results: LinkBenchResults = {
    schema: LINK_BENCH_SCHEMA,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    gitCommit: gitCommit(),
    gitDirty: gitDirty(),
    environment: describeEnvironment('processes'),
    floor,
    noise: noise.stop(),
    parameters,
    skipped: system.skipped,
    throughput,
    delay,
  };
  writeResults(outPath, results);
  progress.clear();
  process.stdout.write(formatReport(results, outPath));
}

// One publisher thread for the whole bench: its CPU figures run on, and renewed publishers join it.
publisherThread.hold(main).then(
  () => process.exit(0),
  (error: unknown) => {
    progress.log(`bench:link failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
