import type { PathName } from './mqtt-clients.ts';
import type { DelayAtRate, LinkBenchResults, Ratios, ThroughputResults } from './results.ts';

const PATH_LABELS: Record<PathName, string> = {
  same: 'same broker (A → A)',
  cross: 'across brokers (A → link → B)',
  relay: 'through TCP relay (A → relay)',
};

/** The human-readable report: the same figures as the results file, as tables. */
export function formatReport(results: LinkBenchResults, outPath: string): string {
  const { environment: env, parameters: p } = results;
  const lines = [
    `mqfed link benchmark${p.quick ? ' (QUICK RUN: short runs, a smoke check only)' : ''}`,
    `  ${p.durationS} s per run, first ${p.warmupS} s discarded; QoS ${p.qos}, ${p.payloadBytes} B payload`,
    `  node ${env.node}, ${env.cpus.count} × ${env.cpus.model}, ${env.platform} ${env.release}, ` +
      `load ${env.loadAverage.start.join(' ')} → ${env.loadAverage.end.join(' ')}`,
    '',
  ];
  if (results.throughput !== undefined) lines.push(...throughputSection(results), '');
  if (results.delay !== undefined) lines.push(...delaySection(results.delay, p), '');
  lines.push(`results: ${outPath}`);
  return `${lines.join('\n')}\n`;
}

function throughputSection(results: LinkBenchResults): string[] {
  const t = results.throughput as ThroughputResults;
  const { p99LimitMs, targets } = results.parameters;
  const rows = [...t.trials]
    .sort((a, b) => a.rate - b.rate)
    .map((trial) => [
      int(trial.rate),
      int(trial.sent),
      int(trial.unique),
      int(trial.lost),
      ms(trial.delay.p50),
      ms(trial.delay.p99),
      ms(trial.delay.max),
      ms(trial.publisher.lagP99Ms),
      cores(trial.cpu),
      trial.pass
        ? 'pass'
        : trial.clientLost !== undefined
          ? 'FAIL (client lost)'
          : trial.stoppedEarly
            ? 'FAIL (stopped early)'
            : 'FAIL',
    ]);
  const best = t.highestPass === undefined ? 'none passed' : `${int(t.highestPass)} msg/s`;
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
        'cores b/A/B',
        '',
      ],
      rows,
      true,
    ),
    `  highest passing rate: ${best}; target ≥ ${int(targets.throughputMsgPerS)}: ${t.met ? 'met' : 'NOT met'}`,
    '  (lag p99: how late the publisher sent; cores: CPU used by bench client / broker A / broker B)',
  ];
}

function delaySection(delay: DelayAtRate[], p: LinkBenchResults['parameters']): string[] {
  const paths: PathName[] = ['same', 'cross', 'relay'];
  const rows: string[][] = paths.map((path) => [
    PATH_LABELS[path],
    ...delay.flatMap((d) => [ms(d.paths[path].delay.p50), ms(d.paths[path].delay.p99)]),
  ]);
  const lossRow = [
    'lost / sent (all paths)',
    ...delay.flatMap((d) => {
      const runs = paths.map((path) => d.paths[path]);
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
    ]),
    `  federation hop ≤ ${p.targets.relayRatio} × relay hop at p50 and p99, every rate: ${met ? 'met' : 'NOT met'}`,
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

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => value.toFixed(value < 10 ? 3 : 1);
const fixed = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(2));
const cores = (cpu: Record<string, number>) =>
  ['bench', 'broker-a', 'broker-b'].map((name) => cpu[name]?.toFixed(2) ?? '-').join('/');
