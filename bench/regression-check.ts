// `npm run bench:regression-check`: proof that the CI regression compare works. It makes many
// runs of one small scenario, compares same-configuration runs with each other (A/A: any failure
// is a false alarm) and with runs whose cross-broker delay was raised by a known 20 % (A/B: each
// failure is a detection), and counts both. See docs/benchmarks.md for what it measures and how
// to read it.
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  bar,
  defineScenario,
  gitCommit,
  inProcessTopology,
  median,
  Progress,
  type Results,
  runScenario,
  type Scenario,
} from '../harness/index.ts';
import { positiveInt } from './flag-parsers.ts';

interface Flags {
  pairs?: number;
  repeat: number;
  duration: number;
  rate: number;
  linkDelay: number;
  clientLink: number;
  increase: number;
  quick: boolean;
  out?: string;
  from?: string;
  resume?: string;
  /** Internal: make one run in this (child) process and write its results here. */
  childOut?: string;
  childLink?: number;
}

function positive(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new InvalidArgumentError('expected a number > 0.');
  return number;
}

const flags = new Command('bench:regression-check')
  .description(
    'Count false alarms (A/A) and detections (A/B, cross-broker delay +20 %) of `compare` ' +
      'over many runs of a small two-broker scenario with a delayed link between the brokers',
  )
  .option('--pairs <n>', 'A/A and A/B comparisons each (default: 20, --quick: 3)', positiveInt)
  .option('--repeat <n>', 'repetitions of each variant in each run', positiveInt, 5)
  .option('--duration <seconds>', 'length of one variant-repetition, warm-up included', positive, 3)
  .option('--rate <msg/s>', 'rate of the one publisher', positive, 200)
  .option(
    '--link-delay <ms>',
    'one-way delay of the link between the brokers in the A runs',
    positiveInt,
    4,
  )
  .option(
    '--client-link <ms>',
    'one-way delay of the links from the clients to the brokers',
    positiveInt,
    2,
  )
  .option(
    '--increase <fraction>',
    'how much the B runs raise the cross-broker p50, by a longer link between the brokers',
    positive,
    0.2,
  )
  .option('--quick', 'three pairs: a smoke run, not figures to quote', false)
  .option('--out <file>', 'the JSON of all figures (default: out/regression-check-<time>.json)')
  .option(
    '--from <dir>',
    'measure nothing: compare again the runs (A-*.json, B-*.json) an earlier check kept in <dir>',
  )
  .option('--resume <dir>', 'go on with an interrupted check: make only the runs <dir> lacks')
  .addOption(new Option('--child-out <file>').hideHelp())
  .addOption(new Option('--child-link <ms>').argParser(positiveInt).hideHelp())
  .addHelpText('after', '\nEnvironment: none; no MQFED_* variable applies.\n')
  .parse()
  .opts<Flags>();

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'reports', 'cli.ts');
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
const outFile = resolve(flags.out ?? join(ROOT, 'out', `regression-check-${stamp}.json`));
// Every run's results.json, kept beside the summary so any comparison can be made again.
const kept = flags.from ?? flags.resume;
const runsDir = kept === undefined ? outFile.replace(/\.json$/, '') : resolve(kept);
/** Each run's record as it is made (load average, wall time), for --resume and --from. */
const RECORDS_FILE = 'runs.json';
/** A run that fails (a service that would not start) is made again, this many times in all. */
const ATTEMPTS = 3;
const durationMs = Math.round(flags.duration * 1000);
const warmupMs = Math.round(durationMs / 6);

/**
 * Two brokers on hosts of their own with a delayed link between them, and the clients on a third
 * host; the publisher on `a`, the subscriber on `a` (same broker) or `b` (across the link).
 * [design] The clients' links (2 ms) make the same-broker path 2 links long and the cross-broker
 * one 3, so the federation overhead is about 100 %, of the order of the paper's 50 %, rather than
 * the thousands of percent of a link beside an in-process hop of 0.5 ms: points of overhead then
 * mean about what they mean in paper-1. Only the cross-broker path crosses the brokers' link, so lengthening it raises that
 * path's delay and nothing else. The delay proxy's timers have a 1 ms grain, so links are whole
 * milliseconds, and the brokers' link (4 ms) is chosen so that 2 ms more is about 20 % of the
 * cross-broker delay.
 */
function scenarioWith(linkDelayMs: number): Scenario {
  return defineScenario({
    name: 'regression-check',
    description: 'One publisher, one subscriber, two brokers with a delayed link between them',
    brokers: ['a', 'b'],
    topology: 'in-process',
    network: {
      hosts: { 'host-a': ['a'], 'host-b': ['b'], clients: [] },
      defaultLink: { delayMs: flags.clientLink },
      links: [{ between: ['host-a', 'host-b'], delayMs: linkDelayMs }],
    },
    clients: {
      publishers: [
        {
          name: 'pub',
          broker: 'a',
          host: 'clients',
          rate: flags.rate,
          payloadBytes: 64,
          topics: ['check/t'],
        },
      ],
      subscribers: [{ name: 'sub', broker: 'a', host: 'clients', filters: ['check/t'] }],
    },
    durationMs,
    warmupMs,
    drainMs: 300,
    seed: 1,
    variants: [
      { name: 'same-broker', placement: { sub: 'a' } },
      { name: 'cross-broker', placement: { sub: 'b' } },
    ],
    paper: { overhead: null, note: 'Not a paper scenario: the check of the regression compare' },
  });
}

interface RunRecord {
  label: string;
  file: string;
  linkDelayMs: number;
  /** Medians over the run's repetitions. */
  sameP50Ms: number;
  crossP50Ms: number;
  sameP99Ms: number;
  crossP99Ms: number;
  overheadP50: number | null;
  wallMs: number;
  /** 1-minute load average of the machine when the run ended: how busy it was around it. */
  loadAverage: number | null;
}

interface RowRecord {
  row: string;
  gating: boolean;
  change: number | null;
  pValue: number | null;
  verdict: string;
}

interface ComparisonRecord {
  kind: 'A/A' | 'A/B';
  baseline: string;
  candidate: string;
  exitCode: number;
  verdict: 'pass' | 'fail';
  /** Gating rows that regressed: `subject metric`. */
  regressions: string[];
  rows: RowRecord[];
}

const progress = new Progress();
const runs: RunRecord[] = [];

function medianOf(results: Results, variant: string, metric: 'p50' | 'p99'): number {
  const v = results.variants.find((x) => x.name === variant)!;
  return median(v.repetitions.map((r) => r.latencyMs[metric]));
}

function recordOf(
  label: string,
  file: string,
  results: Results,
  linkDelayMs: number,
  extra: Pick<RunRecord, 'wallMs' | 'loadAverage'>,
): RunRecord {
  return {
    label,
    file,
    linkDelayMs,
    sameP50Ms: medianOf(results, 'same-broker', 'p50'),
    crossP50Ms: medianOf(results, 'cross-broker', 'p50'),
    sameP99Ms: medianOf(results, 'same-broker', 'p99'),
    crossP99Ms: medianOf(results, 'cross-broker', 'p99'),
    overheadP50: results.comparison?.overheadP50 ?? null,
    ...extra,
  };
}

function logRun(record: RunRecord): void {
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  progress.log(
    `${record.label.padEnd(5)} link ${record.linkDelayMs} ms   p50 same ${ms(record.sameP50Ms)} cross ${ms(record.crossP50Ms)}   ` +
      `p99 same ${ms(record.sameP99Ms)} cross ${ms(record.crossP99Ms)}` +
      (record.loadAverage === null
        ? ''
        : `   (${(record.wallMs / 1000).toFixed(0)} s, load ${record.loadAverage.toFixed(1)})`),
  );
}

/** What a child sends its parent while it runs. */
interface ChildProgress {
  /** Variant runs done, as a fraction of the child's whole run. */
  fraction: number;
  text: string;
}

/**
 * The child's side: one run of the scenario in this fresh process, its results written to
 * `--child-out`. [design] Every service of the in-process topology lives in the process that
 * runs it, so 41 runs in one long-lived process would carry each run's leftovers (heap, timers,
 * JIT state) into the next: in a first try the delays crept up by a fifth over the hour. A fresh
 * process per run is also what CI does, one `mqfed run` per job.
 */
async function runChild(file: string, linkDelayMs: number): Promise<void> {
  const { results } = await runScenario(scenarioWith(linkDelayMs), {
    quick: false,
    topology: inProcessTopology(),
    repeat: flags.repeat,
    onProgress: (p) => {
      const fraction = (p.index + Math.min(1, p.elapsedMs / Math.max(1, p.totalMs))) / p.of;
      const text = `repetition ${p.repetition + 1}/${p.repeat} · ${p.variant} ${p.phase}`;
      process.send?.({ fraction, text } satisfies ChildProgress);
    },
  });
  await writeFile(file, `${JSON.stringify(results)}\n`);
}

let child: ChildProcess | undefined;

/** One run in a child process of this script; its results.json lands in `file`. */
function runInChild(
  file: string,
  linkDelayMs: number,
  onProgress: (progress: ChildProgress) => void,
): Promise<void> {
  const args = [
    ...['--repeat', String(flags.repeat), '--duration', String(flags.duration)],
    ...['--rate', String(flags.rate), '--client-link', String(flags.clientLink)],
    ...['--child-out', file, '--child-link', String(linkDelayMs)],
  ];
  return new Promise((done, fail) => {
    const started = fork(fileURLToPath(import.meta.url), args, {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    child = started;
    let stderr = '';
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    started.on('message', (message) => onProgress(message as ChildProgress));
    started.on('error', fail);
    started.on('exit', (code, signal) => {
      child = undefined;
      if (code === 0) done();
      else
        fail(
          new Error(`the run exited ${signal ?? code}: ${stderr.trim().split('\n').at(-1) ?? ''}`),
        );
    });
  });
}

async function measure(
  label: string,
  linkDelayMs: number,
  place: { done: number; of: number },
): Promise<RunRecord> {
  const began = performance.now();
  const file = join(runsDir, `${label}.json`);
  await runInChild(file, linkDelayMs, ({ fraction, text }) =>
    progress.update(
      `${bar((place.done + fraction) / place.of)} run ${place.done + 1}/${place.of} ${label} · ${text}`,
    ),
  );
  const results = JSON.parse(await readFile(file, 'utf8')) as Results;
  const record = recordOf(label, file, results, linkDelayMs, {
    wallMs: Math.round(performance.now() - began),
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  });
  runs.push(record);
  await writeFile(join(runsDir, RECORDS_FILE), `${JSON.stringify(runs, null, 2)}\n`);
  logRun(record);
  return record;
}

async function measureWithRetries(
  label: string,
  linkDelayMs: number,
  place: { done: number; of: number },
): Promise<RunRecord> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measure(label, linkDelayMs, place);
    } catch (error) {
      if (attempt >= ATTEMPTS) throw error;
      progress.log(`${label} failed (${(error as Error).message}); again in 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 10_000));
    }
  }
}

/** The runs an earlier check kept, by label: … and B-00, B-01 … */
async function loadRuns(): Promise<{ a: RunRecord[]; b: RunRecord[] }> {
  const labels = (await readdir(runsDir))
    .filter((name) => /^[AB]-\d+\.json$/.test(name))
    .sort()
    .map((name) => name.slice(0, -5));
  const made = new Map<string, RunRecord>();
  try {
    const records = JSON.parse(await readFile(join(runsDir, RECORDS_FILE), 'utf8')) as RunRecord[];
    for (const record of records) made.set(record.label, record);
  } catch {
    // No records: wall time and load average are unknown.
  }
  for (const label of labels) {
    const file = join(runsDir, `${label}.json`);
    const results = JSON.parse(await readFile(file, 'utf8')) as Results;
    const network = (results.parameters as { network?: { links?: { delayMs: number }[] } }).network;
    const record = recordOf(label, file, results, network?.links?.[0]?.delayMs ?? Number.NaN, {
      wallMs: made.get(label)?.wallMs ?? results.durationMs,
      loadAverage: made.get(label)?.loadAverage ?? null,
    });
    runs.push(record);
    logRun(record);
  }
  return {
    a: runs.filter((r) => r.label.startsWith('A-')),
    b: runs.filter((r) => r.label.startsWith('B-')),
  };
}

interface CompareRowJson {
  subject: string;
  metric: string;
  gating: boolean;
  change: number | null;
  pValue: number | null;
  verdict: string;
  regression: boolean;
}

/** `npm run report -- compare base cand --json`, exactly as CI runs it: its exit code and JSON. */
function compare(kind: ComparisonRecord['kind'], base: RunRecord, cand: RunRecord) {
  return new Promise<ComparisonRecord>((done, fail) => {
    execFile(
      process.execPath,
      [CLI, 'compare', base.file, cand.file, '--json'],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        if (exitCode !== 0 && exitCode !== 1) {
          fail(new Error(`compare exited ${exitCode}: ${stderr.trim()}`));
          return;
        }
        const report = JSON.parse(stdout) as {
          verdict: 'pass' | 'fail';
          candidates: { rows: CompareRowJson[] }[];
        };
        const rows = report.candidates[0]!.rows;
        done({
          kind,
          baseline: base.label,
          candidate: cand.label,
          exitCode,
          verdict: report.verdict,
          regressions: rows.filter((r) => r.regression).map((r) => `${r.subject} ${r.metric}`),
          rows: rows.map((r) => ({
            row: `${r.subject} ${r.metric}`,
            gating: r.gating,
            change: r.change,
            pValue: r.pValue,
            verdict: r.verdict,
          })),
        });
      },
    );
  });
}

const pct = (fraction: number) =>
  `${fraction >= 0 ? '+' : '−'}${Math.abs(fraction * 100).toFixed(1)} %`;

/**
 * How often each row's verdict was `regression` over some comparisons, gating or not: what would
 * have failed had it gated. `cross-broker p50 ×19, same-broker p99 ×2 (info)`.
 */
function tally(comparisons: readonly ComparisonRecord[]): string {
  const counts = new Map<string, { n: number; gating: boolean }>();
  for (const c of comparisons) {
    for (const r of c.rows) {
      if (r.verdict !== 'regression') continue;
      const seen = counts.get(r.row) ?? { n: 0, gating: r.gating };
      seen.n++;
      counts.set(r.row, seen);
    }
  }
  return (
    [...counts]
      .map(([row, { n, gating }]) => `${row} ×${n}${gating ? '' : ' (info)'}`)
      .join(', ') || 'none'
  );
}

async function main(): Promise<void> {
  let a: RunRecord[];
  let b: RunRecord[];
  let pairs: number;
  if (flags.from !== undefined) {
    progress.log(
      `regression check: comparing again the runs kept in ${relative(process.cwd(), runsDir)}`,
    );
    ({ a, b } = await loadRuns());
    pairs = Math.min(a.length - 1, b.length, flags.pairs ?? Number.POSITIVE_INFINITY);
    if (!(pairs >= 1)) throw new Error(`${runsDir}: needs A-00, A-01 and B-00 at least`);
  } else {
    pairs = flags.pairs ?? (flags.quick ? 3 : 20);
    const of = 2 * pairs + 1;
    await mkdir(runsDir, { recursive: true });
    const before = flags.resume === undefined ? { a: [], b: [] } : await loadRuns();
    const have = new Map([...before.a, ...before.b].map((r) => [r.label, r]));
    progress.log(
      `regression check: ${pairs} A/A and ${pairs} A/B comparisons; ${of} runs of 2 variants × ` +
        `${flags.repeat} repetitions × ${flags.duration} s; runs kept in ${relative(process.cwd(), runsDir)}` +
        (have.size > 0 ? `; ${have.size} made already` : ''),
    );
    const label = (kind: string, n: number) => `${kind}-${String(n).padStart(2, '0')}`;
    const linkDelay = have.get('A-00')?.linkDelayMs ?? flags.linkDelay;
    // The first A run calibrates the injection: the B runs' link is longer by the share of the
    // cross-broker p50 that makes it grow by --increase, in whole ms (the proxy's timer grain).
    const first =
      have.get('A-00') ?? (await measureWithRetries('A-00', linkDelay, { done: 0, of }));
    const bLink =
      have.get('B-00')?.linkDelayMs ??
      linkDelay + Math.max(1, Math.round(flags.increase * first.crossP50Ms));
    progress.log(
      `injected: link ${linkDelay} ms → ${bLink} ms in the B runs ` +
        `(${pct(flags.increase)} of the cross-broker p50 of A-00, ${first.crossP50Ms.toFixed(2)} ms)`,
    );
    a = [first];
    b = [];
    // Interleaved, so the machine's drift over the hour reaches A and B runs alike.
    for (let i = 1; i <= pairs; i++) {
      const bi = label('B', i - 1);
      const ai = label('A', i);
      b.push(have.get(bi) ?? (await measureWithRetries(bi, bLink, { done: 2 * i - 1, of })));
      a.push(have.get(ai) ?? (await measureWithRetries(ai, linkDelay, { done: 2 * i, of })));
    }
  }
  progress.clear();
  const comparisons: ComparisonRecord[] = [];
  for (let i = 0; i < pairs; i++) {
    progress.update(`${bar(i / pairs)} comparing`);
    comparisons.push(await compare('A/A', a[i]!, a[i + 1]!));
    comparisons.push(await compare('A/B', a[i]!, b[i]!));
  }
  progress.clear();
  const aa = comparisons.filter((c) => c.kind === 'A/A');
  const ab = comparisons.filter((c) => c.kind === 'A/B');
  const falseAlarms = aa.filter((c) => c.exitCode === 1).length;
  const detections = ab.filter((c) => c.exitCode === 1).length;
  const onInjected = ab.filter((c) =>
    c.regressions.some((r) => r.startsWith('cross-broker') || r.startsWith('federation overhead')),
  ).length;
  const usedA = a.slice(0, pairs + 1);
  const usedB = b.slice(0, pairs);
  const aCross = median(usedA.map((r) => r.crossP50Ms));
  const bCross = median(usedB.map((r) => r.crossP50Ms));
  const loads = runs.map((r) => r.loadAverage).filter((l): l is number => l !== null);
  const crossChange = (c: ComparisonRecord) =>
    c.rows.find((r) => r.row === 'cross-broker p50')?.change ?? null;
  const summary = {
    falseAlarms,
    aaComparisons: aa.length,
    detections,
    detectionsOnInjectedRows: onInjected,
    abComparisons: ab.length,
    targets: {
      falseAlarmsAtMost: Math.floor(pairs / 20),
      detectionsAtLeast: Math.ceil((pairs * 19) / 20),
    },
    aLinkDelayMs: usedA[0]!.linkDelayMs,
    bLinkDelayMs: usedB[0]!.linkDelayMs,
    aCrossP50Ms: aCross,
    bCrossP50Ms: bCross,
    measuredIncrease: (bCross - aCross) / aCross,
    cpus: cpus().length,
    loadAverage:
      loads.length === 0
        ? null
        : { min: Math.min(...loads), median: median(loads), max: Math.max(...loads) },
    aaRegressedRows: tally(aa),
    abRegressedRows: tally(ab),
    aaCrossP50Changes: aa.map(crossChange),
    abCrossP50Changes: ab.map(crossChange),
  };
  const document = {
    schema: 'mqfed.bench.regression-check/v1',
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    gitCommit: gitCommit(),
    command: `npm run bench:regression-check -- ${process.argv.slice(2).join(' ')}`.trim(),
    parameters: {
      pairs,
      repeat: flags.repeat,
      durationS: flags.duration,
      warmupMs,
      rate: flags.rate,
      linkDelayMs: summary.aLinkDelayMs,
      clientLinkDelayMs: flags.clientLink,
      bLinkDelayMs: summary.bLinkDelayMs,
      increase: flags.increase,
      topology: 'in-process',
      compare: 'defaults: --max-regression 10 %, --alpha 0.05',
      runsDir: relative(ROOT, runsDir),
      from: flags.from !== undefined,
    },
    summary,
    runs,
    comparisons,
  };
  await mkdir(resolve(outFile, '..'), { recursive: true });
  await writeFile(outFile, `${JSON.stringify(document, null, 2)}\n`);

  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const met =
    falseAlarms <= summary.targets.falseAlarmsAtMost &&
    detections >= summary.targets.detectionsAtLeast;
  const load = summary.loadAverage;
  const lines = [
    '',
    `regression check: ${pairs} pairs, --repeat ${flags.repeat}, compare with its defaults (10 %, alpha 0.05)`,
    `  injected   brokers' link ${summary.aLinkDelayMs} ms → ${summary.bLinkDelayMs} ms in the B runs`,
    `  cross p50  A ${ms(aCross)}, B ${ms(bCross)} (medians over runs): ${pct(summary.measuredIncrease)} measured, ${pct(flags.increase)} meant`,
    `  A/A        ${falseAlarms} false alarm${falseAlarms === 1 ? '' : 's'} in ${aa.length} (target ≤ ${summary.targets.falseAlarmsAtMost})`,
    `             rows judged a regression: ${summary.aaRegressedRows}`,
    `  A/B        ${detections} detection${detections === 1 ? '' : 's'} in ${ab.length} (target ≥ ${summary.targets.detectionsAtLeast}), ${onInjected} on the cross-broker or overhead rows`,
    `             rows judged a regression: ${summary.abRegressedRows}`,
    `  verdict    ${met ? 'targets met' : 'targets MISSED'}`,
    ...(load === null
      ? []
      : [
          `  machine    ${summary.cpus} CPUs, 1-min load average ${load.min}–${load.max} (median ${load.median}) over the runs`,
        ]),
    `  figures    ${relative(process.cwd(), outFile)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (flags.childOut !== undefined) {
  // A child: every service of its run lives in it, so exiting on a signal stops them all.
  await runChild(flags.childOut, flags.childLink ?? flags.linkDelay);
  process.exit(0);
} else {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      child?.kill('SIGKILL');
      progress.log(
        `${signal}: stopped; the runs so far are in ${relative(process.cwd(), runsDir)}`,
      );
      process.exit(130);
    });
  }
  main().catch((error: unknown) => {
    progress.clear();
    process.stderr.write(`bench:regression-check: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
