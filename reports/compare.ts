import { median, type Results, type Variant } from '../harness/results/index.ts';
import { type ChangeKind, changeInterval } from './change-interval.ts';
import { formatChange, formatMs, formatPercent, formatPoints } from './format.ts';
import { mannWhitneyU, smallestPValue } from './mann-whitney.ts';
import { ReportError } from './report-error.ts';

/**
 * Regression compare of runs of one scenario, a baseline against one or more candidates: the CI
 * check (docs/results.md). [design] A threshold on single-run figures cries wolf: two quick runs
 * of one commit differ by more than 10 % on a shared machine. So each figure is compared as a
 * statistical test over the runs' repetitions, in the spirit of Google Benchmark's compare.py
 * (Mann–Whitney U) and criterion (an interval for the change, and a noise threshold):
 *
 * - a row is a **regression** only when its change is beyond the threshold (`maxRegression`:
 *   relative for delays and costs, percentage points for overheads) **and** significant: the
 *   one-sided Mann–Whitney U test that the candidate's repetitions tend to be larger gives
 *   p < `alpha`. A small but real change is not a regression; a large one that noise could
 *   explain is not either. Improvements are judged the same way, the other way round.
 * - where the sample sizes cannot reach p < alpha at all (one repetition on either side; 2
 *   against 2, 3 against 3), no test is made. The row says "too few repetitions", a p99 row
 *   never fails, and any other gating row fails only beyond {@link UNREPEATED_FACTOR} times the
 *   threshold, flagged `unrepeated`: a gross change still stops CI, a noisy one does not.
 * - a variant of the baseline that the candidate lacks fails: the check cannot vouch for it.
 *
 * What gates (docs/results.md says why, with the figures of `npm run bench:regression-check`):
 * per variant the p50 delay and the CPU time per delivered message, and the federation overhead
 * at p50, in points. p99 rows (a variant's p99, the overhead at p99) are tested and shown but gate
 * only with `gateP99`: the tail of a short run rests on a handful of messages and moved by tens of
 * percent between runs of one commit, so gating it cried wolf. Link bytes per message are shown,
 * not gated: the protocol's framing, not load, sets them.
 */
export interface CompareOptions {
  /** A fraction: 0.1 is 10 % slower (or costlier), or 10 points more overhead. */
  maxRegression: number;
  /** Significance level of the one-sided Mann–Whitney U test. */
  alpha: number;
  /** p99 rows gate too: for long runs on a quiet machine, where a p99 rests on many messages. */
  gateP99: boolean;
}

export const DEFAULT_MAX_REGRESSION = 0.1;
export const DEFAULT_ALPHA = 0.05;
/** Without a test (too few repetitions), only a change this many times the threshold fails. */
export const UNREPEATED_FACTOR = 3;
export const COMPARE_SCHEMA = 'mqfed.compare/v2';

export type Metric =
  | 'p50'
  | 'p99'
  | 'cpuUsPerMessage'
  | 'linkBytesPerMessage'
  | 'overheadP50'
  | 'overheadP99';

/** Which metrics may fail a run by default (the module comment says why). */
export const GATING: Readonly<Record<Metric, boolean>> = {
  p50: true,
  p99: false,
  cpuUsPerMessage: true,
  linkBytesPerMessage: false,
  overheadP50: true,
  overheadP99: false,
};

/** Tail figures: gate only with `gateP99`, and never without a test. */
const TAIL_METRICS: ReadonlySet<Metric> = new Set(['p99', 'overheadP99']);

export type RowVerdict = 'regression' | 'improvement' | 'no change' | 'too few repetitions';

/** One side of a row: the median over the run's repetitions and each repetition's figure. */
export interface Sample {
  median: number;
  n: number;
  values: number[];
}

export interface CompareRow {
  /** A variant name, or `federation overhead`. */
  subject: string;
  metric: Metric;
  /** `relative` changes are fractions of the baseline; `points` differences of two fractions. */
  unit: 'relative' | 'points';
  baseline: Sample;
  candidate: Sample;
  /** Change of the medians; null for a relative change from a baseline median of 0. */
  change: number | null;
  /** Bootstrap confidence interval of the change; null with one repetition on either side. */
  interval: { lo: number; hi: number; confidence: number } | null;
  /**
   * One-sided Mann–Whitney p in the direction of the change (candidate larger when the change is
   * ≥ 0, smaller otherwise); null where no test was possible.
   */
  pValue: number | null;
  /** How p was found; null where no test was possible. */
  test: 'exact' | 'normal' | null;
  /** Whether this row may fail the run at all. */
  gating: boolean;
  verdict: RowVerdict;
  /** The verdict rests on the no-test fallback (a change beyond 3× the threshold), not a test. */
  unrepeated: boolean;
  /** A gating row whose verdict is a regression. */
  regression: boolean;
}

export interface RunRef {
  file: string;
  scenario: string;
  gitCommit: string | null;
  startedAt: string;
  repetitions: number;
}

export interface CandidateComparison {
  candidate: RunRef;
  verdict: 'pass' | 'fail';
  rows: CompareRow[];
  /** Plain notes: missing or extra variants, differing parameters, too few repetitions. */
  notes: string[];
  /** Gating rows that regressed, plus baseline variants the candidate lacks. */
  regressions: number;
}

export interface CompareReport {
  schema: typeof COMPARE_SCHEMA;
  maxRegression: number;
  alpha: number;
  /** Whether p99 rows gated. */
  gateP99: boolean;
  unrepeatedFactor: number;
  verdict: 'pass' | 'fail';
  baseline: RunRef;
  candidates: CandidateComparison[];
}

export interface NamedResults {
  file: string;
  results: Results;
}

function ref({ file, results }: NamedResults): RunRef {
  return {
    file,
    scenario: results.scenario,
    gitCommit: results.gitCommit,
    startedAt: results.startedAt,
    repetitions: results.repetitions,
  };
}

function sample(values: readonly number[]): Sample {
  const finite = values.filter(Number.isFinite);
  return { median: median(finite), n: finite.length, values: finite };
}

/** Whether n1 against n2 repetitions can give a one-sided p below alpha at all. */
export function testable(n1: number, n2: number, alpha: number): boolean {
  return n1 >= 2 && n2 >= 2 && smallestPValue(n1, n2) < alpha;
}

interface Judge {
  maxRegression: number;
  alpha: number;
  gateP99: boolean;
}

function judgeRow(
  subject: string,
  metric: Metric,
  baseValues: readonly number[],
  candValues: readonly number[],
  { maxRegression, alpha, gateP99 }: Judge,
): CompareRow {
  const unit = metric === 'overheadP50' || metric === 'overheadP99' ? 'points' : 'relative';
  const kind: ChangeKind = unit === 'points' ? 'difference' : 'relative';
  const baseline = sample(baseValues);
  const candidate = sample(candValues);
  const {
    estimate: change,
    lo,
    hi,
    confidence,
  } = changeInterval(kind, baseline.values, candidate.values);
  const interval = lo === null || hi === null ? null : { lo, hi, confidence };
  // A relative change from 0 is unbounded: any growth is beyond any threshold.
  const beyond = (factor: number) =>
    change === null ? candidate.median > baseline.median : change > maxRegression * factor;
  const below = (factor: number) => change !== null && change < -maxRegression * factor;
  const gating = GATING[metric] || (gateP99 && TAIL_METRICS.has(metric));
  let verdict: RowVerdict;
  let pValue: number | null = null;
  let test: CompareRow['test'] = null;
  let unrepeated = false;
  if (testable(baseline.n, candidate.n, alpha)) {
    const u = mannWhitneyU(candidate.values, baseline.values);
    test = u.method;
    const growing = change === null ? candidate.median >= baseline.median : change >= 0;
    pValue = growing ? u.pGreater : u.pLess;
    if (beyond(1) && u.pGreater < alpha) verdict = 'regression';
    else if (below(1) && u.pLess < alpha) verdict = 'improvement';
    else verdict = 'no change';
  } else if (!TAIL_METRICS.has(metric) && beyond(UNREPEATED_FACTOR)) {
    verdict = 'regression';
    unrepeated = true;
  } else if (!TAIL_METRICS.has(metric) && below(UNREPEATED_FACTOR)) {
    verdict = 'improvement';
    unrepeated = true;
  } else {
    verdict = 'too few repetitions';
  }
  return {
    subject,
    metric,
    unit,
    baseline,
    candidate,
    change,
    interval,
    pValue,
    test,
    gating,
    verdict,
    unrepeated,
    regression: gating && verdict === 'regression',
  };
}

/** CPU µs per delivered message summed over services; NaN where none was measured. */
function cpuPerMessage(cost: Variant['cost']): number {
  const values = Object.values(cost.cpuUsPerMessage);
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0);
}

function linkBytes(cost: Variant['cost']): number {
  return cost.linkBytesPerMessage ?? Number.NaN;
}

const COST_METRICS = [
  ['cpuUsPerMessage', cpuPerMessage, 'CPU per message'],
  ['linkBytesPerMessage', linkBytes, 'link bytes per message'],
] as const;

function compareOne(
  baseline: NamedResults,
  candidate: NamedResults,
  judge: Judge,
): CandidateComparison {
  const rows: CompareRow[] = [];
  const notes: string[] = [];
  let missing = 0;
  const candidateVariants = new Map(candidate.results.variants.map((v) => [v.name, v]));
  for (const base of baseline.results.variants) {
    const cand = candidateVariants.get(base.name);
    if (cand === undefined) {
      notes.push(`variant "${base.name}" is missing from the candidate`);
      missing++;
      continue;
    }
    for (const metric of ['p50', 'p99'] as const) {
      rows.push(
        judgeRow(
          base.name,
          metric,
          base.repetitions.map((r) => r.latencyMs[metric]),
          cand.repetitions.map((r) => r.latencyMs[metric]),
          judge,
        ),
      );
    }
    for (const [metric, read, label] of COST_METRICS) {
      const b = base.repetitions.map((r) => read(r.cost));
      const c = cand.repetitions.map((r) => read(r.cost));
      const measured = (values: number[]) => values.some(Number.isFinite);
      // A same-broker variant sends nothing over links: a row of zeros says nothing.
      const nothing = (values: number[]) => values.every((v) => v === 0);
      if (metric === 'linkBytesPerMessage' && nothing(b) && nothing(c)) continue;
      if (measured(b) && measured(c)) rows.push(judgeRow(base.name, metric, b, c, judge));
      else if (measured(b) !== measured(c)) {
        notes.push(
          `${label} of "${base.name}" was measured in the ${measured(b) ? 'baseline' : 'candidate'} only (not compared)`,
        );
      }
    }
  }
  const baseNames = new Set(baseline.results.variants.map((v) => v.name));
  for (const name of candidateVariants.keys()) {
    if (!baseNames.has(name))
      notes.push(`variant "${name}" is new in the candidate (not compared)`);
  }
  const bc = baseline.results.comparison;
  const cc = candidate.results.comparison;
  if (bc !== null && cc !== null) {
    for (const metric of ['overheadP50', 'overheadP99'] as const) {
      rows.push(
        judgeRow(
          'federation overhead',
          metric,
          bc.perRepetition.map((r) => r[metric]),
          cc.perRepetition.map((r) => r[metric]),
          judge,
        ),
      );
    }
  } else if (bc !== null) {
    notes.push('the candidate has no overhead comparison; the baseline has one');
    missing++;
  }
  if (
    JSON.stringify(baseline.results.parameters) !== JSON.stringify(candidate.results.parameters)
  ) {
    notes.push('parameters differ between the runs; differences may come from them');
  }
  const untested = rows.filter((r) => r.test === null);
  if (untested.length > 0) {
    const nb = baseline.results.repetitions;
    const nc = candidate.results.repetitions;
    notes.push(
      `${nb} against ${nc} repetition${nc === 1 ? '' : 's'} cannot make any change significant ` +
        `(the smallest one-sided p is ${formatP(smallestPValue(Math.min(nb, nc) || 1, Math.max(nb, nc) || 1))}); ` +
        `untested rows fail only beyond ${UNREPEATED_FACTOR}× the threshold, p99 rows never: ` +
        'run both with --repeat 5',
    );
  }
  const regressions = rows.filter((r) => r.regression).length + missing;
  return {
    candidate: ref(candidate),
    verdict: regressions > 0 ? 'fail' : 'pass',
    rows,
    notes,
    regressions,
  };
}

/**
 * Compares each candidate with the baseline. Runs of different scenarios are refused with
 * `SCENARIO_MISMATCH`: their delays measure different things.
 */
export function compareResults(
  baseline: NamedResults,
  candidates: readonly NamedResults[],
  options: Partial<CompareOptions> = {},
): CompareReport {
  const maxRegression = options.maxRegression ?? DEFAULT_MAX_REGRESSION;
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const gateP99 = options.gateP99 ?? false;
  if (!Number.isFinite(maxRegression) || maxRegression < 0) {
    throw new RangeError(`maxRegression must be a fraction ≥ 0, got ${maxRegression}`);
  }
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (candidates.length === 0) throw new RangeError('compare needs at least one candidate');
  for (const candidate of candidates) {
    if (candidate.results.scenario !== baseline.results.scenario) {
      throw new ReportError(
        'SCENARIO_MISMATCH',
        `${candidate.file} is scenario "${candidate.results.scenario}", ${baseline.file} is "${baseline.results.scenario}": only runs of one scenario compare`,
      );
    }
  }
  const compared = candidates.map((c) =>
    compareOne(baseline, c, { maxRegression, alpha, gateP99 }),
  );
  return {
    schema: COMPARE_SCHEMA,
    maxRegression,
    alpha,
    gateP99,
    unrepeatedFactor: UNREPEATED_FACTOR,
    verdict: compared.some((c) => c.verdict === 'fail') ? 'fail' : 'pass',
    baseline: ref(baseline),
    candidates: compared,
  };
}

function describeRun(run: RunRef): string {
  const commit = run.gitCommit === null ? 'no commit' : run.gitCommit.slice(0, 7);
  const reps = `${run.repetitions} repetition${run.repetitions === 1 ? '' : 's'}`;
  return `${run.file} (${commit}, ${run.startedAt}, ${reps})`;
}

function formatValue(row: CompareRow, value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  switch (row.metric) {
    case 'overheadP50':
    case 'overheadP99':
      return formatPercent(value);
    case 'cpuUsPerMessage':
      return `${value.toFixed(1)} µs`;
    case 'linkBytesPerMessage':
      return `${value.toFixed(1)} B`;
    default:
      return `${formatMs(value)} ms`;
  }
}

function formatDelta(row: CompareRow, value: number): string {
  return row.unit === 'points' ? formatPoints(value) : formatChange(value);
}

function formatInterval(row: CompareRow): string {
  if (row.interval === null) return 'n/a';
  const { lo, hi } = row.interval;
  return `${formatDelta(row, lo)} … ${formatDelta(row, hi)}`;
}

/** A p-value in three decimals, or `<0.001`. */
export function formatP(p: number | null): string {
  if (p === null) return 'n/a';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

function formatVerdict(row: CompareRow): string {
  // Upper case only for what fails the run.
  const text = row.regression ? 'REGRESSION' : row.verdict;
  const flags = [...(row.unrepeated ? ['unrepeated'] : []), ...(row.gating ? [] : ['info'])];
  return flags.length === 0 ? text : `${text} (${flags.join(', ')})`;
}

const LEFT_ALIGNED = new Set([0, 1, 8]);

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (LEFT_ALIGNED.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
    .join('  ')
    .trimEnd();
}

/** The compare as a plain-text table per candidate, ending with one verdict line. */
export function formatCompareText(report: CompareReport): string {
  const threshold = (report.maxRegression * 100).toFixed(1);
  const lines = [
    `compare ${report.baseline.scenario}: a regression is a change beyond +${threshold} % ` +
      `(overheads: +${threshold} pts) with one-sided Mann–Whitney p < ${report.alpha}; ` +
      (report.gateP99 ? 'p99 rows gate too' : 'p99 rows inform only (--gate-p99 to gate them)'),
    `baseline   ${describeRun(report.baseline)}`,
  ];
  for (const c of report.candidates) {
    lines.push('', `candidate  ${describeRun(c.candidate)}`);
    const table = [
      [
        'subject',
        'metric',
        'baseline',
        'candidate',
        'n',
        'change',
        '95 % interval',
        'p',
        'verdict',
      ],
      ...c.rows.map((r) => [
        r.subject,
        r.metric,
        formatValue(r, r.baseline.median),
        formatValue(r, r.candidate.median),
        `${r.baseline.n}/${r.candidate.n}`,
        r.change === null ? 'n/a' : formatDelta(r, r.change),
        formatInterval(r),
        formatP(r.pValue),
        formatVerdict(r),
      ]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) lines.push(`  ${pad(row, widths)}`);
    for (const note of c.notes) lines.push(`  note: ${note}`);
    lines.push(
      `  ${c.verdict === 'pass' ? 'PASS' : `FAIL: ${c.regressions} regression${c.regressions === 1 ? '' : 's'}`}`,
    );
  }
  const failed = report.candidates.filter((c) => c.verdict === 'fail').length;
  const of = report.candidates.length;
  lines.push(
    '',
    `verdict: ${report.verdict === 'pass' ? 'PASS' : 'FAIL'} (${failed} of ${of} candidate${of === 1 ? '' : 's'} regressed)`,
  );
  return `${lines.join('\n')}\n`;
}

/** The compare as a `mqfed.compare/v2` JSON document. */
export function formatCompareJson(report: CompareReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
