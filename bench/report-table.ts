import { machineLine } from '../harness/environment.ts';
import { HARNESS_SERVICE } from '../harness/recording/cost-meter.ts';
import { mosquittoSection } from './mosquitto-report.ts';
import { spread, spreadText } from './mosquitto-targets.ts';
import { brokerLabels, PATH_NAMES, PATHS, type PathName, UP_PROCESS } from './paths.ts';
import type {
  DelayAtRate,
  LinkBenchResults,
  Ratios,
  RunResult,
  ThroughputResults,
  Trial,
} from './results.ts';

/** The processes of the CPU columns, as the cost meter names them; the harness is the generator. */
const PROCESSES: readonly [label: string, column: string][] = [
  [HARNESS_SERVICE, 'gen'],
  ['broker a', 'A'],
  ['broker b', 'B'],
  [UP_PROCESS, 'up'],
  ['broker a-tls', 'A tls'],
  ['broker b-tls', 'B tls'],
  ['broker a-mem', 'A mem'],
  ['broker b-mem', 'B mem'],
  ['relay', 'relay'],
  ['mosquitto a', 'mosq a'],
  ['mosquitto b', 'mosq b'],
  ['mosquitto a-qos1', 'mq1 a'],
  ['mosquitto b-qos1', 'mq1 b'],
];

/** The human-readable report: the same figures as the results file, as tables. */
export function formatReport(results: LinkBenchResults, outPath: string): string {
  const { environment: env, parameters: p, floor, noise } = results;
  const lines = [
    `mqfed link benchmark${p.quick ? ' (QUICK RUN: short runs, a smoke check only)' : ''}`,
    `  ${p.durationS} s per run, first ${p.warmupS} s discarded; ${p.payloadBytes} B payload; ` +
      `paths: ${p.paths.join(', ')}`,
    `  federation: ${p.federation === 'up' ? 'mqfed up, every service in one process (A and B columns: that process)' : 'a process per service'}`,
    `  ${machineLine(env)}` +
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
  for (const [system, outbox] of Object.entries(results.outboxes)) {
    lines.push(`  QoS 1 outbox of ${system}: ${outbox}`);
  }
  for (const [path, why] of Object.entries(results.skipped)) lines.push(`  ${path} path: ${why}`);
  lines.push('');
  if (results.throughput !== undefined && results.throughput.length > 0) {
    lines.push(...summarySection(results), '');
    for (const search of results.throughput) lines.push(...searchSection(search, results));
    lines.push(...SEARCH_LEGEND, '');
  }
  if (results.mosquitto !== undefined) lines.push(...mosquittoSection(results.mosquitto), '');
  if (results.delay !== undefined && results.delay.length > 0) {
    lines.push(...delaySection(results.delay, p), '', ...cpuSection(results.delay), '');
  }
  lines.push(`results: ${outPath}`);
  return `${lines.join('\n')}\n`;
}

/** The highest loss-free rate of each link path, side by side, and the targets. */
function summarySection(results: LinkBenchResults): string[] {
  const searches = results.throughput ?? [];
  const { p99LimitMs, targets } = results.parameters;
  const qos0 = searches.find((search) => search.path === 'cross')?.highestPass;
  const rows = searches.map((search) => {
    const best = search.trials.find((trial) => trial.pass && trial.rate === search.highestPass);
    const fail = search.trials.find((trial) => !trial.pass && trial.rate === search.lowestFail);
    return [
      PATHS[search.path].label,
      String(search.qos),
      search.highestPass === undefined ? 'none' : int(search.highestPass),
      fail === undefined ? '-' : `${int(fail.rate)} (${fail.failures.join(', ')})`,
      qos0 === undefined || search.highestPass === undefined
        ? '-'
        : (search.highestPass / qos0).toFixed(2),
      best === undefined ? '-' : ms(best.latencyMs.p50),
      best === undefined ? '-' : ms(best.latencyMs.p99),
      best === undefined ? '-' : int(best.duplicates),
      String(search.trials.length),
    ];
  });
  const lines = [
    `Highest loss-free rate across one peer link (publisher on A, subscriber on B), one search per path`,
    ...table(
      [
        'path',
        'QoS',
        'highest pass/s',
        'first fail/s (why)',
        '× QoS 0',
        'p50 ms',
        'p99 ms',
        'dup',
        'runs',
      ],
      rows,
    ),
    `  pass: no loss and p99 < ${p99LimitMs} ms; at QoS 1 no loss means every publish acknowledged`,
    '  (PUBACK) and every acknowledged one delivered at least once by the end of the drain;',
    '  p50/p99/dup at the highest pass; each rate run once (a rerun may decide otherwise)',
  ];
  const cross = searches.find((search) => search.path === 'cross');
  if (cross !== undefined) {
    lines.push(
      `  QoS 0 target ≥ ${int(targets.throughputMsgPerS)} msg/s: ${cross.met ? 'met' : 'NOT met'}`,
    );
  }
  const target = results.qos1Target;
  if (target !== undefined) {
    const share = target.share === undefined ? 'n/a' : target.share.toFixed(2);
    lines.push(
      `  QoS 1 with the durable outbox ≥ ${targets.qos1DurableShare} × QoS 0: ` +
        `${target.met ? 'met' : 'NOT met'} (${share})`,
    );
  }
  return lines;
}

/** Every run of one path's search. */
function searchSection(search: ThroughputResults, results: LinkBenchResults): string[] {
  const { p99LimitMs } = results.parameters;
  const brokers = brokerLabels(search.path, results.parameters.federation);
  const trials = [...search.trials].sort((a, b) => a.rate - b.rate);
  const rows = trials.map((trial) => [
    int(trial.rate),
    int(trial.sent),
    trial.delivery === null ? '-' : int(trial.delivery.acknowledged),
    int(trial.received),
    int(trial.delivery === null ? trial.lost : trial.delivery.lost),
    int(trial.duplicates),
    ms(trial.latencyMs.p50),
    ms(trial.latencyMs.p99),
    ms(trial.latencyMs.max),
    ms(trial.publisherLagMs.p99),
    perProcess(trial.cores, brokers, 2),
    perProcess(trial.cost.cpuUsPerMessage, brokers, 1),
    trial.machineBusy === null ? '-' : `${Math.round(trial.machineBusy * 100)} %`,
    verdict(trial),
  ]);
  const best =
    search.highestPass === undefined ? 'none passed' : `${int(search.highestPass)} msg/s`;
  const notes = trials.flatMap((trial) =>
    trial.notes.map((note) => `  ${int(trial.rate)} msg/s: ${note}`),
  );
  return [
    `Throughput search, ${PATHS[search.path].label} (QoS ${search.qos}), from ${int(search.startRate)} msg/s; ` +
      `pass = no loss, p99 < ${p99LimitMs} ms`,
    ...table(
      [
        'rate/s',
        'sent',
        'acked',
        'received',
        'lost',
        'dup',
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
    `  highest passing rate: ${best}`,
    ...notes,
    '',
  ];
}

/** What the columns of the search tables mean, once under the last of them. */
const SEARCH_LEGEND = [
  '  (counts after the warm-up; acked: PUBACKs by the end of the drain (QoS 1); lost: at QoS 1',
  '  acknowledged and never delivered; dup: deliveries of a message already received; lag p99:',
  '  how late the publisher sent; gen: the generator, this process: publisher thread and',
  '  subscribers; A/B: the brokers of the path; cores: CPU kept busy; µs/msg: CPU per message;',
  '  machine: share of all CPUs busy, other processes included)',
];

function verdict(trial: Trial): string {
  return trial.pass ? 'pass' : `FAIL (${trial.failures.join(', ')})`;
}

/** The delay runs of each rate, every repetition of it. */
function byRate(delay: DelayAtRate[]): { rate: number; runs: DelayAtRate[] }[] {
  return [...new Set(delay.map((d) => d.rate))].map((rate) => ({
    rate,
    runs: delay.filter((d) => d.rate === rate),
  }));
}

/** A figure over the repetitions: the median, and its range when there are several. */
function spreadCell(values: (number | undefined)[], format: (value: number) => string): string {
  return values.length === 0 ? '-' : spreadText(spread(values), format);
}

function delaySection(delay: DelayAtRate[], p: LinkBenchResults['parameters']): string[] {
  const rates = byRate(delay);
  const paths = PATH_NAMES.filter((path) => delay.some((d) => d.paths[path] !== undefined));
  const cell = (runs: DelayAtRate[], path: PathName, at: 'p50' | 'p99') => {
    const values = runs.flatMap((d) => {
      const run = d.paths[path];
      return run === undefined ? [] : [run.latencyMs[at]];
    });
    return spreadCell(values, ms);
  };
  const rows: string[][] = paths.map((path) => [
    PATHS[path].label,
    ...rates.flatMap(({ runs }) => [cell(runs, path, 'p50'), cell(runs, path, 'p99')]),
  ]);
  const total = (runs: DelayAtRate[], of: (run: RunResult) => number) =>
    runs.reduce((sum, d) => sum + Object.values(d.paths).reduce((all, run) => all + of(run), 0), 0);
  const lossRow = [
    'lost / sent (all paths)',
    ...rates.flatMap(({ runs }) => [
      `${int(total(runs, (run) => run.lost))} / ${int(total(runs, (run) => run.sent))}`,
      '',
    ]),
  ];
  const duplicateRow = [
    'duplicated (all paths)',
    ...rates.flatMap(({ runs }) => [int(total(runs, (run) => run.duplicates)), '']),
  ];
  const qos1 = delay.flatMap((d) =>
    Object.values(d.paths).flatMap((run) => {
      const a = run.delivery;
      if (a === null) return [];
      return [
        `  ${run.path} @${int(d.rate)}/s (repetition ${d.repetition}): ${int(a.sent)} sent, ` +
          `${int(a.acknowledged)} acknowledged, ${int(a.delivered)} of them delivered, ` +
          `${int(a.lost)} lost, ${int(a.duplicated)} duplicated`,
      ];
    }),
  );
  const ratioRow = (label: string, pick: (d: DelayAtRate) => Ratios) => [
    label,
    ...rates.flatMap(({ runs }) => [
      spreadCell(
        runs.map((d) => pick(d).p50),
        (value) => value.toFixed(2),
      ),
      spreadCell(
        runs.map((d) => pick(d).p99),
        (value) => value.toFixed(2),
      ),
    ]),
  ];
  const header = [
    'delay, ms',
    ...rates.flatMap(({ rate }) => [`p50 @${int(rate)}/s`, `p99 @${int(rate)}/s`]),
  ];
  // The relay target on the medians of the repetitions, at every rate.
  const within = (values: (number | undefined)[]) => {
    const median = spread(values).median;
    return median !== undefined && median <= p.targets.relayRatio;
  };
  const met = rates.every(
    ({ runs }) =>
      within(runs.map((d) => d.relayRatio.p50)) && within(runs.map((d) => d.relayRatio.p99)),
  );
  const repeat = Math.max(...delay.map((d) => d.repetition));
  return [
    `Publisher-to-subscriber delay${repeat > 1 ? ` (median of ${repeat} repetitions [min–max])` : ''}`,
    ...table(header, [
      ...rows,
      lossRow,
      duplicateRow,
      ratioRow('(cross − same) / (relay − same)', (d) => d.relayRatio),
      ratioRow("paper's (cross − same) / same", (d) => d.paperRatio),
      ...(paths.includes('mosquitto')
        ? [ratioRow('cross / Mosquitto bridge', (d) => d.bridgeRatio)]
        : []),
    ]),
    `  federation hop ≤ ${p.targets.relayRatio} × relay hop at p50 and p99, every rate: ${met ? 'met' : 'NOT met'}`,
    ...(qos1.length === 0 ? [] : ['  QoS 1 delivery (after the warm-up):', ...qos1]),
  ];
}

/** CPU per delivered message of each process, for every path and rate (median of repetitions). */
function cpuSection(delay: DelayAtRate[]): string[] {
  const rows = byRate(delay).flatMap(({ rate, runs }) =>
    PATH_NAMES.flatMap((path) => {
      const measured = runs.flatMap((d) => (d.paths[path] === undefined ? [] : [d.paths[path]]));
      if (measured.length === 0) return [];
      const median = (of: (run: RunResult) => number | undefined | null) =>
        spread(measured.map((run) => of(run) ?? undefined)).median;
      const linkBytes = median((run) => run.cost.linkBytesPerMessage);
      return [
        [
          `${path} @${int(rate)}/s`,
          ...PROCESSES.map(([label]) => us(median((run) => run.cost.cpuUsPerMessage[label]))),
          linkBytes === undefined ? '-' : linkBytes.toFixed(0),
        ],
      ];
    }),
  );
  const notes = delay.flatMap((d) =>
    Object.values(d.paths).flatMap((run) =>
      run.notes.map(
        (note) => `  ${run.path} @${int(d.rate)}/s (repetition ${d.repetition}): ${note}`,
      ),
    ),
  );
  const repeat = Math.max(...delay.map((d) => d.repetition));
  return [
    'CPU per delivered message, µs, by process (gen: the generator, this process)' +
      (repeat > 1 ? `, median of ${repeat} repetitions` : ''),
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

/** `gen/A/B` figures of one run (A and B: its path's brokers), keyed by the cost meter's names. */
function perProcess(
  values: Record<string, number>,
  brokers: { a: string; b: string },
  digits: number,
): string {
  return [HARNESS_SERVICE, brokers.a, brokers.b]
    .map((label) => values[label]?.toFixed(digits) ?? '-')
    .join('/');
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => value.toFixed(value < 10 ? 3 : 1);
const us = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
