import {
  type MosquittoComparison,
  type Spread,
  spreadText,
  type TargetFigure,
} from './mosquitto-targets.ts';

/**
 * The Mosquitto comparison as a table: one row per target and rate, mqfed's figure, the
 * bridge's, their ratio (median over the repetitions, with its range) and the verdict.
 */
export function mosquittoSection(comparison: MosquittoComparison): string[] {
  const rows: string[][] = [];
  const row = (target: string, at: string, figure: TargetFigure, unit: Unit) => {
    rows.push([
      target,
      at,
      value(figure.mqfed, unit),
      value(figure.mosquitto, unit),
      ratioCell(figure.ratio),
      `${figure.atMost ? '≤' : '≥'} ${figure.limit}`,
      figure.met === null ? 'n/a' : figure.met ? 'met' : 'NOT met',
      figure.nodeFloor === undefined ? '-' : value(figure.nodeFloor.value, unit),
      figure.nodeFloor === undefined ? '-' : ratioCell(figure.nodeFloor.ratio),
    ]);
  };
  for (const r of comparison.rates) {
    const at = `${r.rate.toLocaleString('en-US')}/s`;
    row('hop p50 (cross − same), ms', at, r.hopP50, 'ms');
    row('cross-broker p99, ms', at, r.crossP99, 'ms');
    row('CPU per message, both brokers, µs', at, r.cpuPerMessage, 'us');
  }
  if (comparison.cpuAtLoad !== undefined) {
    const at = `${comparison.cpuAtLoad.rate.toLocaleString('en-US')}/s`;
    row('CPU per message, both brokers, µs', at, comparison.cpuAtLoad, 'us');
  }
  if (comparison.throughput !== undefined) {
    row('highest loss-free rate, msg/s', 'search', comparison.throughput, 'rate');
  }
  const widths = HEADER.map((cell, i) => Math.max(cell.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((cell, i) => (LEFT.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`.trimEnd();
  const n = comparison.repetitions;
  return [
    `Against the Mosquitto bridge, same run (median of ${n} repetition${n === 1 ? '' : 's'} [min–max]; ` +
      'ratio = mqfed / Mosquitto, paired per repetition)',
    line(HEADER),
    ...rows.map(line),
    `  all targets: ${comparison.met ? 'met' : 'NOT met'}`,
    '  hop: the path across minus the same-broker path, each system its own; CPU: broker A + B',
    '  of the cross path against Mosquitto a + b of the bridge path, per delivered message, in',
    "  the delay runs and, at mqfed's highest loss-free rate, in both searches' runs at it;",
    '  rate: one search each, so one value (rerun the bench for its spread);',
    '  Node floor: the same figure for a zero-logic Node process hop (the relay path: its hop and',
    '  p99; its CPU once per broker process), and its ratio to Mosquitto. Where that ratio is',
    '  above the target, no hop through Node processes can meet it; the rest of the gap is the',
    "  federation's own",
  ];
}

const HEADER = [
  'target',
  'at',
  'mqfed',
  'Mosquitto',
  'ratio',
  'target',
  'verdict',
  'Node floor',
  'floor ratio',
];
/** Columns of text, left-aligned; the figures are right-aligned. */
const LEFT = new Set([0, 1, 6]);

type Unit = 'ms' | 'us' | 'rate';

function format(number: number, unit: Unit): string {
  if (unit === 'rate') return Math.round(number).toLocaleString('en-US');
  if (unit === 'us') return number.toFixed(1);
  return number.toFixed(Math.abs(number) < 10 ? 3 : 1);
}

function value(figure: Spread, unit: Unit): string {
  return spreadText(figure, (number) => format(number, unit));
}

function ratioCell(ratio: Spread): string {
  if (ratio.median === undefined) return 'n/a';
  const middle = ratio.median.toFixed(2);
  const missing = ratio.values.filter((v) => v === undefined).length;
  const range =
    ratio.values.length < 2 || ratio.min === ratio.max
      ? ''
      : ` [${ratio.min!.toFixed(2)}–${ratio.max!.toFixed(2)}]`;
  return `${middle}${range}${missing > 0 ? ` (${missing} n/a)` : ''}`;
}
