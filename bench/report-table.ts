import { HARNESS_SERVICE } from '../harness/recording/cost-meter.ts';
import type {
  DelayAtRate,
  LinkBenchResults,
  PathName,
  Ratios,
  RunResult,
  ThroughputResults,
} from './results.ts';

const PATH_LABELS: Record<PathName, string> = {
  same: 'same broker (A → A)',
  cross: 'across brokers (A → link → B)',
  relay: 'through TCP relay (A → relay)',
  mosquitto: 'Mosquitto bridge (a → bridge → b)',
};
const PATHS: readonly PathName[] = ['same', 'cross', 'relay', 'mosquitto'];

/** The processes of the CPU columns, as the cost meter names them; the harness is the generator. */
const PROCESSES: readonly [label: string, column: string][] = [
  [HARNESS_SERVICE, 'gen'],
  ['broker a', 'A'],
  ['broker b', 'B'],
  ['relay', 'relay'],
  ['mosquitto a', 'mosq a'],
  ['mosquitto b', 'mosq b'],
];

/** The human-readable report: the same figures as the results file, as tables. */
export function formatReport(results: LinkBenchResults, outPath: string): string {
  const { environment: env, parameters: p, floor, noise } = results;
  const lines = [
    `mqfed link benchmark${p.quick ? ' (QUICK RUN: short runs, a smoke check only)' : ''}`,
    `  ${p.durationS} s per run, first ${p.warmupS} s discarded; QoS ${p.qos}, ${p.payloadBytes} B payload`,
    `  node ${env.node}, ${env.cpus} × ${env.cpuModel}, ${env.platform} ${env.arch}` +
      (noise === null
        ? ''
        : `; load ${noise.loadAverageBefore.toFixed(2)} before, ${noise.loadAverageMax.toFixed(2)} at most`),
  ];
  if (floor !== null) {
    lines.push(
      `  measuring floor: scheduler lag p50 ${ms(floor.schedulerLagMs.p50)} / p99 ${ms(floor.schedulerLagMs.p99)} ms, ` +
        `loopback p50 ${ms(floor.loopbackMs.p50)} / p99 ${ms(floor.loopbackMs.p99)} ms, ` +
        `recording ${floor.recordCostUs} µs per message`,
    );
  }
  for (const warning of noise?.warnings ?? []) lines.push(`  NOISE: ${warning}`);
  for (const [path, why] of Object.entries(results.skipped)) lines.push(`  ${path} path: ${why}`);
  lines.push('');
  if (results.throughput !== undefined) lines.push(...throughputSection(results), '');
  if (results.delay !== undefined) {
    lines.push(...delaySection(results.delay, p), '', ...cpuSection(results.delay), '');
  }
  lines.push(`results: ${outPath}`);
  return `${lines.join('\n')}\n`;
}

function throughputSection(results: LinkBenchResults): string[] {
  const t = results.throughput as ThroughputResults;
  const { p99LimitMs, targets } = results.parameters;
  const trials = [...t.trials].sort((a, b) => a.rate - b.rate);
  const rows = trials.map((trial) => [
    int(trial.rate),
    int(trial.sent),
    int(trial.received),
    int(trial.lost),
    ms(trial.latencyMs.p50),
    ms(trial.latencyMs.p99),
    ms(trial.latencyMs.max),
    ms(trial.publisherLagMs.p99),
    perProcess(trial.cores, ['gen', 'A', 'B'], 2),
    perProcess(trial.cost.cpuUsPerMessage, ['gen', 'A', 'B'], 1),
    trial.machineBusy === null ? '-' : `${Math.round(trial.machineBusy * 100)} %`,
    trial.pass
      ? 'pass'
      : trial.clientLost !== undefined
        ? 'FAIL (client lost)'
        : trial.stoppedEarly
          ? 'FAIL (stopped early)'
          : 'FAIL',
  ]);
  const best = t.highestPass === undefined ? 'none passed' : `${int(t.highestPass)} msg/s`;
  const notes = trials.flatMap((trial) =>
    trial.notes.map((note) => `  ${int(trial.rate)} msg/s: ${note}`),
  );
  return [
    `Throughput across one peer link (publisher on A, subscriber on B); pass = no loss, p99 < ${p99LimitMs} ms`,
    ...table(
      [
        'rate/s',
        'sent',
        'received',
        'lost',
        'p50 ms',
        'p99 ms',
        'max ms',
        'lag p99',
        'cores gen/A/B',
        'µs/msg gen/A/B',
        'machine',
        '',
      ],
      rows,
      true,
    ),
    `  highest passing rate: ${best}; target ≥ ${int(targets.throughputMsgPerS)}: ${t.met ? 'met' : 'NOT met'}`,
    ...notes,
    '  (counts after the warm-up; lag p99: how late the publisher sent; gen: the generator, this',
    '  process: publisher thread and subscribers; cores: CPU kept busy; µs/msg: CPU per message;',
    '  machine: share of all CPUs busy, other processes included)',
  ];
}

function delaySection(delay: DelayAtRate[], p: LinkBenchResults['parameters']): string[] {
  const paths = PATHS.filter((path) => delay.some((d) => d.paths[path] !== undefined));
  const cell = (run: RunResult | undefined, at: 'p50' | 'p99') =>
    run === undefined ? '-' : ms(run.latencyMs[at]);
  const rows: string[][] = paths.map((path) => [
    PATH_LABELS[path],
    ...delay.flatMap((d) => [cell(d.paths[path], 'p50'), cell(d.paths[path], 'p99')]),
  ]);
  const lossRow = [
    'lost / sent (all paths)',
    ...delay.flatMap((d) => {
      const runs = Object.values(d.paths);
      const lost = runs.reduce((sum, run) => sum + run.lost, 0);
      const sent = runs.reduce((sum, run) => sum + run.sent, 0);
      return [`${int(lost)} / ${int(sent)}`, ''];
    }),
  ];
  const ratioRow = (label: string, pick: (d: DelayAtRate) => Ratios) => [
    label,
    ...delay.flatMap((d) => [fixed(pick(d).p50), fixed(pick(d).p99)]),
  ];
  const header = [
    'delay, ms',
    ...delay.flatMap((d) => [`p50 @${int(d.rate)}/s`, `p99 @${int(d.rate)}/s`]),
  ];
  const met = delay.every((d) => d.met);
  return [
    'Publisher-to-subscriber delay',
    ...table(header, [
      ...rows,
      lossRow,
      ratioRow('(cross − same) / (relay − same)', (d) => d.relayRatio),
      ratioRow("paper's (cross − same) / same", (d) => d.paperRatio),
      ...(paths.includes('mosquitto')
        ? [ratioRow('cross / Mosquitto bridge', (d) => d.bridgeRatio)]
        : []),
    ]),
    `  federation hop ≤ ${p.targets.relayRatio} × relay hop at p50 and p99, every rate: ${met ? 'met' : 'NOT met'}`,
  ];
}

/** CPU per delivered message of each process, for every delay run. */
function cpuSection(delay: DelayAtRate[]): string[] {
  const rows = delay.flatMap((d) =>
    PATHS.flatMap((path) => {
      const run = d.paths[path];
      if (run === undefined) return [];
      return [
        [
          `${path} @${int(d.rate)}/s`,
          ...PROCESSES.map(([label]) => us(run.cost.cpuUsPerMessage[label])),
          run.cost.linkBytesPerMessage === null ? '-' : run.cost.linkBytesPerMessage.toFixed(0),
        ],
      ];
    }),
  );
  const notes = delay.flatMap((d) =>
    Object.values(d.paths).flatMap((run) =>
      run.notes.map((note) => `  ${run.path} @${int(d.rate)}/s: ${note}`),
    ),
  );
  return [
    'CPU per delivered message, µs, by process (gen: the generator, this process)',
    ...table(['run', ...PROCESSES.map(([, column]) => column), 'link B/msg'], rows),
    ...notes,
  ];
}

function table(header: string[], rows: string[][], verdictLast = false): string[] {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((r) => r[i]?.length ?? 0)),
  );
  // Numbers align right; labels (first column) and verdicts (last, when asked) align left.
  const pad = (cell: string, i: number, last: number) =>
    i === 0 || (verdictLast && i === last) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!);
  const line = (cells: string[]) =>
    `  ${cells.map((cell, i) => pad(cell, i, cells.length - 1)).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `gen/A/B` figures of one run, from a record keyed by the cost meter's names. */
function perProcess(values: Record<string, number>, columns: string[], digits: number): string {
  return columns
    .map((column) => {
      const label = PROCESSES.find(([, name]) => name === column)![0];
      return values[label]?.toFixed(digits) ?? '-';
    })
    .join('/');
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => value.toFixed(value < 10 ? 3 : 1);
const us = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
const fixed = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(2));
