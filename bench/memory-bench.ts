// `npm run bench:memory`: what an idle MQTT client, an open peer link and 1,000 advertised topics
// cost in resident memory, with Mosquitto 2 beside mqfed where it has an equivalent. See
// docs/benchmarks.md for what it measures and how to read it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  findMosquitto,
  MOSQUITTO_SEARCH_HELP,
  noMosquittoFound,
} from '../harness/baselines/mosquitto-binary.ts';
import { describeEnvironment, gitCommit } from '../harness/environment.ts';
import { Progress } from '../harness/progress.ts';
import { positiveInt } from './flag-parsers.ts';
import {
  type IdleRun,
  type IdleSystem,
  idleRun,
  type LinkEnd,
  mosquittoLinksRun,
  mqfedLinksRun,
  type TopicsRun,
  topicsRun,
} from './memory-phases.ts';
import {
  formatMemoryReport,
  MEMORY_BENCH_SCHEMA,
  type MemoryBenchResults,
  type SystemLinksRun,
  summarize,
} from './memory-report.ts';
import { gitDirty } from './results.ts';
import { wsFloorLinksRun } from './ws-floor-links.ts';

interface Flags {
  quick: boolean;
  clients?: number;
  generators: number;
  repetitions?: number;
  settle: number;
  reads: number;
  links: number[];
  warmLinks: number;
  topics: number[];
  only?: string[];
  out?: string;
}

function count(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0)
    throw new InvalidArgumentError('expected an integer ≥ 0.');
  return number;
}

function steps(value: string): number[] {
  const list = value.split(',').map((part) => Number(part.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 0) || !list.some((n) => n > 0)) {
    throw new InvalidArgumentError('expected integers ≥ 0, at least one > 0, comma-separated.');
  }
  return [...new Set([0, ...list])].sort((a, b) => a - b);
}

const PARTS = ['clients', 'links', 'topics'] as const;
function parts(value: string): string[] {
  const list = value.split(',').map((part) => part.trim());
  const bad = list.find((part) => !(PARTS as readonly string[]).includes(part));
  if (bad !== undefined) throw new InvalidArgumentError(`expected some of ${PARTS.join(', ')}.`);
  return list;
}

const flags = new Command('bench:memory')
  .description(
    'Measure resident memory (VmRSS) per idle MQTT client on one broker, per open peer link and ' +
      'per 1,000 topics advertised at discovery, beside Mosquitto where it has an equivalent and ' +
      'beside the floor under it on the same Node (plain aedes, bare ws connections)',
  )
  .addHelpText('after', `\n${MOSQUITTO_SEARCH_HELP}`)
  .option('--quick', 'fewer clients and repetitions: a smoke check, not figures to quote', false)
  .option(
    '--clients <n>',
    'idle clients on the broker (default: 10000, --quick: 2000)',
    positiveInt,
  )
  .option('--generators <n>', 'child processes holding the idle clients', positiveInt, 2)
  .option('--repetitions <n>', 'of every figure (default: 3, --quick: 1)', positiveInt)
  .option('--settle <seconds>', 'wait after each change before reading', positiveInt, 5)
  .option('--reads <n>', 'readings, 1 s apart, whose median is taken', positiveInt, 5)
  .addOption(
    new Option('--links <list>', 'open links at each step of the link figure (--quick: 0,1,2,4,8)')
      .argParser(steps)
      .default([0, 1, 2, 4, 8, 16, 32], '0,1,2,4,8,16,32'),
  )
  .addOption(
    new Option(
      '--warm-links <n>',
      'links a hub opens and drops before its first reading, on leaves not measured (0: none)',
    )
      .argParser(count)
      .default(8),
  )
  .addOption(
    new Option('--topics <list>', 'topics advertised at each step (--quick: 0,2000,10000)')
      .argParser(steps)
      .default([0, 10_000, 50_000], '0,10000,50000'),
  )
  .option('--only <parts>', `measure only these: ${PARTS.join(', ')}`, parts)
  .option('--out <path>', 'results file (default: out/bench-memory-<time>.json)')
  .parse()
  .opts<Flags>();

const clients = flags.clients ?? (flags.quick ? 2000 : 10_000);
const repetitions = flags.repetitions ?? (flags.quick ? 1 : 3);
// [design] Up to 32 links: Mosquitto's bridges and mqfed's links both cost less each as more are
// added over the first few (allocator arenas, V8 compiling the paths), so a slope over 8 links
// mostly measured that; from 8 to 32 it is what one more link holds.
const linkSteps =
  flags.quick && flags.links.at(-1) === 32 ? flags.links.filter((n) => n <= 8) : flags.links;
const warmLinks = flags.warmLinks;
const topicSteps = flags.quick && flags.topics.at(-1) === 50_000 ? [0, 2000, 10_000] : flags.topics;
const wanted = (part: string) => flags.only === undefined || flags.only.includes(part);
const startedAt = new Date();
const outPath = resolve(
  flags.out ??
    join(
      fileURLToPath(new URL('../out/', import.meta.url)),
      `bench-memory-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`,
    ),
);
const progress = new Progress();
const ctx = { progress, settleMs: flags.settle * 1000, reads: flags.reads };

async function main(): Promise<void> {
  const mosquitto = await findMosquitto();
  progress.log(
    mosquitto === undefined
      ? `${noMosquittoFound()}: mqfed figures only`
      : `Mosquitto ${mosquitto.version} (${mosquitto.path})`,
  );
  const idle: IdleRun[] = [];
  const links: SystemLinksRun[] = [];
  const topics: TopicsRun[] = [];
  for (let rep = 1; rep <= repetitions; rep++) {
    const of = `repetition ${rep} of ${repetitions}`;
    if (wanted('clients')) {
      for (const subscribed of [0, Math.min(clients, 1000)]) {
        const systems: IdleSystem[] = [
          'mqfed',
          'aedes',
          ...(mosquitto !== undefined ? ['mosquitto' as const] : []),
        ];
        for (const system of systems) {
          const label = `${of}, ${system}, ${subscribed > 0 ? 'subscribed' : 'connected'} clients`;
          const run = await idleRun(ctx, system, {
            clients,
            generators: flags.generators,
            topics: subscribed,
            label,
          });
          progress.log(
            `${label}: ${run.perClientKiB} KiB a client (${run.clients} taken, ${run.refused} refused)`,
          );
          idle.push(run);
        }
      }
    }
    if (wanted('links')) {
      for (const end of ['dialing', 'accepting'] as LinkEnd[]) {
        const run = await mqfedLinksRun(ctx, end, linkSteps, warmLinks);
        progress.log(
          `${of}, mqfed links, ${end} end: ${run.perLinkKiB} KiB a link, first ${run.firstLinkKiB} KiB more`,
        );
        links.push({ system: 'mqfed', ...run });
        const floor = await wsFloorLinksRun(ctx, end, linkSteps, warmLinks);
        progress.log(`${of}, bare ws, ${end} end: ${floor.perLinkKiB} KiB a connection`);
        links.push({ system: 'ws', ...floor });
        if (mosquitto !== undefined) {
          const bridges = await mosquittoLinksRun(ctx, end, linkSteps);
          progress.log(
            `${of}, Mosquitto bridges, ${end} end: ${bridges.perLinkKiB} KiB a bridge, first ${bridges.firstLinkKiB} KiB more`,
          );
          links.push({ system: 'mosquitto', ...bridges });
        }
      }
    }
    if (wanted('topics')) {
      const run = await topicsRun(ctx, topicSteps, 1000);
      progress.log(`${of}, discovery: ${run.per1000TopicsKiB} KiB per 1,000 topics`);
      topics.push(run);
    }
  }
  const results: MemoryBenchResults = {
    schema: MEMORY_BENCH_SCHEMA,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    gitCommit: gitCommit(),
    gitDirty: gitDirty(),
    environment: describeEnvironment('processes', 'none', mosquitto),
    parameters: {
      quick: flags.quick,
      clients,
      generators: flags.generators,
      keepaliveS: 60,
      repetitions,
      settleS: flags.settle,
      reads: flags.reads,
      linkSteps,
      warmLinks,
      topicSteps,
    },
    runs: { idle, links, topics },
    summary: summarize({ idle, links, topics }),
  };
  mkdirSync(resolve(outPath, '..'), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`);
  progress.clear();
  process.stdout.write(formatMemoryReport(results, outPath));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress.log(`bench:memory failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
