// `npm run fuzz`: generated frames and requests at the peer link, the discovery watch and the
// HTTP APIs of services running in a child process; counts crashes, 5xx answers and frames per
// second, and reads the services' memory after forced GCs. See docs/benchmarks.md (Fuzzing).
import { randomInt } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Progress } from '../harness/progress.ts';
import { HEAP_GROWTH_BOUND, mib, runFuzz, TARGET_NAMES, type TargetName } from './fuzz-run.ts';

const DEFAULT_FRAMES = 1_000_000;
const QUICK_FRAMES = 20_000;

function positiveInteger(value: string): number {
  const number = Number(value.replaceAll('_', ''));
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new InvalidArgumentError('expected a whole number > 0.');
  }
  return number;
}

function seedOf(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number >= 2 ** 32) {
    throw new InvalidArgumentError('expected a whole number in 0..2^32-1.');
  }
  return number;
}

function targetList(value: string): TargetName[] {
  const names = value.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !(TARGET_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown target ${unknown.join(', ')}; expected ${TARGET_NAMES.join(', ')}.`,
    );
  }
  return names as TargetName[];
}

interface Flags {
  frames?: number;
  quick: boolean;
  seed?: number;
  targets: TargetName[];
  warmup?: number;
  out?: string;
}

const program = new Command('fuzz')
  .description(
    'Sends generated frames (structure-aware and random) at the peer link, the discovery watch ' +
      'and the HTTP APIs of auth, discovery and a broker; reports crashes, 5xx answers, frames/s ' +
      'and the services\u2019 memory after forced GCs. Exits 1 unless all of these are clean.',
  )
  .addOption(
    new Option('--frames <n>', `frames to send in all (default ${DEFAULT_FRAMES})`)
      .argParser(positiveInteger)
      .env('MQFED_FUZZ_FRAMES'),
  )
  .option('--quick', `a short run: ${QUICK_FRAMES} frames`, false)
  .addOption(
    new Option('--seed <n>', 'seed of the generators (default: random, printed)')
      .argParser(seedOf)
      .env('MQFED_FUZZ_SEED'),
  )
  .option('--targets <list>', `targets, comma-separated: ${TARGET_NAMES.join(',')}`, targetList, [
    ...TARGET_NAMES,
  ])
  .addOption(
    new Option(
      '--warmup <n>',
      'frames per target before the first memory reading (default: 1 %, at least 5000)',
    ).argParser(positiveInteger),
  )
  .option('--out <file>', 'also write the results as JSON to this file')
  .action(async (flags: Flags) => {
    const frames = flags.frames ?? (flags.quick ? QUICK_FRAMES : DEFAULT_FRAMES);
    const seed = flags.seed ?? randomInt(2 ** 32);
    const progress = new Progress();
    progress.log(`fuzzing ${flags.targets.join(', ')} with ${frames} frames, seed ${seed}`);
    const results = await runFuzz({
      frames,
      seed,
      targets: flags.targets,
      progress,
      ...(flags.warmup === undefined ? {} : { warmupFrames: flags.warmup }),
    });
    progress.clear();

    const lines = [
      `seed ${results.seed}: ${results.frames} frames in ${results.seconds} s`,
      '',
      'target  frames     s      frames/s  5xx  anomalies',
      ...results.targets.map(
        (target) =>
          `${target.target.padEnd(6)}  ${String(target.frames).padStart(8)}  ${String(target.seconds).padStart(6)}  ` +
          `${String(target.framesPerSecond).padStart(8)}  ${String(target.serverErrors).padStart(3)}  ${String(target.anomalies).padStart(9)}`,
      ),
      '',
      `crashes: ${results.crashes.length}${results.crashes.map((crash) => `\n  ${crash.kind}: ${crash.detail}`).join('')}`,
      `5xx answers: ${results.serverErrors}`,
      `anomalies: ${results.anomalies}`,
      `services after forced GC: heap ${mib(results.memory.before.heapUsed)} -> ${mib(results.memory.after.heapUsed)} MiB ` +
        `(${signedPercent(results.memory.heapGrowth)}, bound +${HEAP_GROWTH_BOUND * 100} %), ` +
        `RSS ${mib(results.memory.before.rss)} -> ${mib(results.memory.after.rss)} MiB (${signedPercent(results.memory.rssGrowth)})`,
      `heap flat: ${results.heapFlat ? 'yes' : 'NO'}`,
    ];
    for (const target of results.targets) {
      lines.push('', `${target.target}: closes ${JSON.stringify(target.closes)}`);
      lines.push(`${target.target}: statuses ${JSON.stringify(target.statuses)}`);
      if (Object.keys(target.notes).length > 0) {
        lines.push(`${target.target}: ${JSON.stringify(target.notes)}`);
      }
      for (const example of target.examples) {
        lines.push(`  example: ${example.what} | ${example.input} | ${example.answer}`);
      }
    }
    if (!results.passed && results.log !== undefined && results.log.length > 0) {
      lines.push('', 'services log tail:', results.log.slice(-4000));
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    if (flags.out !== undefined)
      await writeFile(flags.out, `${JSON.stringify(results, null, 2)}\n`);
    process.exitCode = results.passed ? 0 : 1;
  });

function signedPercent(fraction: number): string {
  const percent = Math.round(fraction * 1000) / 10;
  return `${percent >= 0 ? '+' : ''}${percent} %`;
}

await program.parseAsync();
