// `npm run bench:link`: what one peer link carries and what it costs, with every service in its
// own process. See docs/benchmarks.md for what it measures and how to read it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Progress } from '../harness/index.ts';
import { startFederation } from './federation.ts';
import { LinkPhases } from './link-phases.ts';
import { type BenchClients, closeClients, connectClients } from './mqtt-clients.ts';
import { PAYLOAD_BYTES } from './payload.ts';
import { CpuMeter } from './process-cpu.ts';
import { ProcessGroup } from './processes.ts';
import { formatReport } from './report-table.ts';
import {
  captureEnvironment,
  currentLoadAverage,
  gitState,
  type LinkBenchParameters,
  type LinkBenchResults,
  writeResults,
} from './results.ts';

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
      'rate, and the delay of the same-broker, cross-broker and TCP-relay paths',
  )
  .option('--duration <seconds>', 'length of each measured run (default: 30, --quick: 3)', positive)
  .option(
    '--warmup <seconds>',
    'start of each run left out of the delays (default: 10 % of --duration)',
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
const group = new ProcessGroup();
// Whatever ends this process, no child outlives it.
process.on('exit', () => group.killAllNow());
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.log(`${signal}: stopping the services (again to force)`);
    void group.stopAll().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const environment = captureEnvironment();
  const dataDir = mkdtempSync(join(tmpdir(), 'mqfed-bench-'));
  let clients: BenchClients | undefined;
  try {
    progress.update('starting auth, discovery, two brokers and the relay');
    const federation = await startFederation(group, dataDir, {
      brokerNodeArgs:
        flags.cpuProf === undefined
          ? []
          : ['--cpu-prof', `--cpu-prof-dir=${resolve(flags.cpuProf)}`],
    });
    const urls = {
      publisher: federation.a.mqttUrl,
      same: federation.a.mqttUrl,
      cross: federation.b.mqttUrl,
      relay: federation.relayMqttUrl,
    };
    clients = await connectClients(urls);
    const pids = new Map([['bench', process.pid], ...group.pids()]);
    // Named so that, should this process be killed with SIGKILL, what to clean up is on record.
    progress.log(`processes: ${[...pids].map(([name, pid]) => `${name} ${pid}`).join(', ')}`);
    const bench = new LinkPhases({
      federation,
      clients,
      cpu: new CpuMeter(pids),
      progress,
      durationS,
      warmupS,
      p99LimitMs: flags.p99Limit,
      reconnect: async () => {
        await closeClients(clients).catch(() => {});
        clients = await connectClients(urls);
        return clients;
      },
    });
    await bench.warmUp();
    const results: LinkBenchResults = {
      schema: 'mqfed-bench-link/1',
      startedAt: startedAt.toISOString(),
      finishedAt: '',
      git: gitState(),
      environment,
      parameters,
      throughput:
        flags.only === 'delay'
          ? undefined
          : await bench.throughput(parameters.search, THROUGHPUT_TARGET),
      delay:
        flags.only === 'throughput'
          ? undefined
          : await bench.delay(flags.rates, RELAY_RATIO_TARGET),
    };
    results.finishedAt = new Date().toISOString();
    results.environment.loadAverage.end = currentLoadAverage();
    writeResults(outPath, results);
    progress.clear();
    process.stdout.write(formatReport(results, outPath));
  } finally {
    progress.clear();
    await closeClients(clients).catch(() => {});
    await group.stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    progress.log(`bench:link failed: ${error instanceof Error ? error.message : String(error)}`);
    await group.stopAll();
    process.exit(1);
  },
);
