import type { Results } from '../harness/index.ts';
import { formatChange, formatMs, formatPercent, formatPoints } from './format.ts';
import { ReportError } from './report-error.ts';

/**
 * Regression compare of runs of one scenario: a baseline against one or more candidates. This is
 * the CI check (docs/results.md). [design] A candidate fails when, beyond `maxRegression`:
 * - a variant's p99 delay grew by more than that fraction of the baseline's (0.1: 10 % slower), or
 * - the federation overhead (p50 or p99) grew by more than that many percentage points
 *   (0.1: from 50 % to over 60 %). Overheads are already relative, and a relative change of a
 *   small overhead (2 % → 3 %) is noise, so they are compared in points.
 * A variant of the baseline that the candidate lacks fails too: the check cannot vouch for it.
 * p50 is shown but never fails a run on its own.
 */
export interface CompareOptions {
  /** A fraction: 0.1 is 10 % slower p99 or 10 points more overhead. */
  maxRegression: number;
}

export const DEFAULT_MAX_REGRESSION = 0.1;

export type Metric = 'p50' | 'p99' | 'overheadP50' | 'overheadP99';

export interface CompareRow {
  /** A variant name, or `federation overhead`. */
  subject: string;
  metric: Metric;
  baseline: number;
  candidate: number;
  /** Relative change for delays ((cand − base) / base); difference in points for overheads. */
  change: number | null;
  unit: 'relative' | 'points';
  /** Whether this row may fail the run at all (p50 rows are informational). */
  gating: boolean;
  regression: boolean;
}

export interface RunRef {
  file: string;
  scenario: string;
  gitCommit: string | null;
  startedAt: string;
}

export interface CandidateComparison {
  candidate: RunRef;
  verdict: 'pass' | 'fail';
  rows: CompareRow[];
  /** Plain notes: missing or extra variants, differing parameters. */
  notes: string[];
  regressions: number;
}

export interface CompareReport {
  schema: 'mqfed.compare/v1';
  maxRegression: number;
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
  };
}

function relativeChange(baseline: number, candidate: number): number | null {
  if (baseline === 0) return candidate === 0 ? 0 : null;
  return (candidate - baseline) / baseline;
}

function compareOne(
  baseline: Results,
  candidate: NamedResults,
  maxRegression: number,
): CandidateComparison {
  const rows: CompareRow[] = [];
  const notes: string[] = [];
  let missing = 0;
  const candidateVariants = new Map(candidate.results.variants.map((v) => [v.name, v]));
  for (const base of baseline.variants) {
    const cand = candidateVariants.get(base.name);
    if (cand === undefined) {
      notes.push(`variant "${base.name}" is missing from the candidate`);
      missing++;
      continue;
    }
    for (const metric of ['p50', 'p99'] as const) {
      const b = base.latencyMs[metric];
      const c = cand.latencyMs[metric];
      const change = relativeChange(b, c);
      const gating = metric === 'p99';
      rows.push({
        subject: base.name,
        metric,
        baseline: b,
        candidate: c,
        change,
        unit: 'relative',
        gating,
        // A zero baseline has no relative change; any delay above it is worse than any threshold.
        regression: gating && (change === null ? c > 0 : change > maxRegression),
      });
    }
  }
  const baseNames = new Set(baseline.variants.map((v) => v.name));
  for (const name of candidateVariants.keys()) {
    if (!baseNames.has(name))
      notes.push(`variant "${name}" is new in the candidate (not compared)`);
  }
  const bc = baseline.comparison;
  const cc = candidate.results.comparison;
  if (bc !== null && cc !== null) {
    for (const metric of ['overheadP50', 'overheadP99'] as const) {
      const change = cc[metric] - bc[metric];
      rows.push({
        subject: 'federation overhead',
        metric,
        baseline: bc[metric],
        candidate: cc[metric],
        change,
        unit: 'points',
        gating: true,
        regression: change > maxRegression,
      });
    }
  } else if (bc !== null) {
    notes.push('the candidate has no overhead comparison; the baseline has one');
    missing++;
  }
  if (JSON.stringify(baseline.parameters) !== JSON.stringify(candidate.results.parameters)) {
    notes.push('parameters differ between the runs; differences may come from them');
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
  if (!Number.isFinite(maxRegression) || maxRegression < 0) {
    throw new RangeError(`maxRegression must be a fraction ≥ 0, got ${maxRegression}`);
  }
  if (candidates.length === 0) throw new RangeError('compare needs at least one candidate');
  for (const candidate of candidates) {
    if (candidate.results.scenario !== baseline.results.scenario) {
      throw new ReportError(
        'SCENARIO_MISMATCH',
        `${candidate.file} is scenario "${candidate.results.scenario}", ${baseline.file} is "${baseline.results.scenario}": only runs of one scenario compare`,
      );
    }
  }
  const compared = candidates.map((c) => compareOne(baseline.results, c, maxRegression));
  return {
    schema: 'mqfed.compare/v1',
    maxRegression,
    verdict: compared.some((c) => c.verdict === 'fail') ? 'fail' : 'pass',
    baseline: ref(baseline),
    candidates: compared,
  };
}

function describeRun(run: RunRef): string {
  return `${run.file} (${run.gitCommit === null ? 'no commit' : run.gitCommit.slice(0, 7)}, ${run.startedAt})`;
}

function formatValue(row: CompareRow, value: number): string {
  return row.unit === 'points' ? formatPercent(value) : `${formatMs(value)} ms`;
}

function formatRowChange(row: CompareRow): string {
  if (row.change === null) return 'n/a';
  return row.unit === 'points' ? formatPoints(row.change) : formatChange(row.change);
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => (i === 0 || i === 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
    .join('  ')
    .trimEnd();
}

/** The compare as a plain-text table, ending with one verdict line. */
export function formatCompareText(report: CompareReport): string {
  const threshold = `${(report.maxRegression * 100).toFixed(1)} % slower p99 or ${(report.maxRegression * 100).toFixed(1)} pts more overhead`;
  const lines = [
    `compare ${report.baseline.scenario}: max regression ${threshold}`,
    `baseline   ${describeRun(report.baseline)}`,
  ];
  for (const c of report.candidates) {
    lines.push('', `candidate  ${describeRun(c.candidate)}`);
    const table = [
      ['subject', 'metric', 'baseline', 'candidate', 'change', ''],
      ...c.rows.map((r) => [
        r.subject,
        r.metric,
        formatValue(r, r.baseline),
        formatValue(r, r.candidate),
        formatRowChange(r),
        r.regression ? 'REGRESSION' : r.gating ? 'ok' : '(info)',
      ]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) lines.push(`  ${pad(row, widths)}`);
    for (const note of c.notes) lines.push(`  note: ${note}`);
    lines.push(
      `  ${c.verdict === 'pass' ? 'PASS' : `FAIL: ${c.regressions} regression${c.regressions === 1 ? '' : 's'}`}`,
    );
  }
  lines.push(
    '',
    `verdict: ${report.verdict === 'pass' ? 'PASS' : 'FAIL'} (${report.candidates.filter((c) => c.verdict === 'fail').length} of ${report.candidates.length} candidate${report.candidates.length === 1 ? '' : 's'} regressed)`,
  );
  return `${lines.join('\n')}\n`;
}

/** The compare as JSON; an infinite change is written as null. */
export function formatCompareJson(report: CompareReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
