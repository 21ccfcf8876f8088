import { describe, expect, it } from 'vitest';
import type { Results } from '../harness/results/index.ts';
import { changeInterval } from './change-interval.ts';
import {
  type CompareOptions,
  type CompareReport,
  type CompareRow,
  compareResults,
  formatCompareJson,
  formatCompareText,
} from './compare.ts';
import { type FixtureOptions, syntheticResults } from './fixtures.ts';

// Fewer samples keep the fixtures quick; the compare reads only the per-repetition figures.
const run = (options: FixtureOptions = {}) =>
  syntheticResults({ samples: 2_000, repetitions: 5, ...options });
const baseline = run({ seed: 1 });

const compare = (
  candidate: Results,
  options: Partial<CompareOptions> = {},
  base: Results = baseline,
): CompareReport =>
  compareResults(
    { file: 'base.json', results: base },
    [{ file: 'cand.json', results: candidate }],
    options,
  );

const rowsOf = (report: CompareReport) => report.candidates[0]!.rows;
const row = (report: CompareReport, subject: string, metric: CompareRow['metric']) =>
  rowsOf(report).find((r) => r.subject === subject && r.metric === metric)!;
const regressed = (report: CompareReport) =>
  rowsOf(report)
    .filter((r) => r.regression)
    .map((r) => `${r.subject} ${r.metric}`);

/** The same document with one variant's per-repetition p50 (and p99, 1.5× it) set by hand. */
function withP50s(results: Results, variant: string, p50s: readonly number[]): Results {
  const copy = structuredClone(results);
  const v = copy.variants.find((x) => x.name === variant)!;
  v.repetitions = p50s.map((p50, index) => ({
    ...v.repetitions[index % v.repetitions.length]!,
    index,
    latencyMs: { ...v.repetitions[0]!.latencyMs, p50, p99: p50 * 1.5 },
  }));
  copy.repetitions = p50s.length;
  return copy;
}

describe('compare, over repetitions', () => {
  it('passes two runs of the same configuration with different seeds', () => {
    for (const seed of [2, 3, 4, 5]) {
      const report = compare(run({ seed }));
      expect(report.verdict, `seed ${seed}`).toBe('pass');
      expect(regressed(report)).toEqual([]);
    }
  });

  it('fails cross-broker delay 20 % higher as significant regressions, p < 0.05', () => {
    const report = compare(run({ seed: 2, crossFactor: 1.8 }));
    expect(report.verdict).toBe('fail');
    const p50 = row(report, 'cross-broker qos0', 'p50');
    expect(p50.verdict).toBe('regression');
    expect(p50.change).toBeGreaterThan(0.15);
    expect(p50.change).toBeLessThan(0.25);
    expect(p50.pValue).toBeLessThan(0.05);
    // Five against five, no overlap: the smallest p there is.
    expect(p50.pValue).toBeCloseTo(1 / 252, 10);
    expect(p50.test).toBe('exact');
    expect(p50.interval!.lo).toBeGreaterThan(0.1);
    expect(p50.interval!.hi).toBeLessThan(0.3);
    expect(p50.baseline.n).toBe(5);
    expect(p50.candidate.values).toHaveLength(5);
    // The overhead grew by about 30 points, in points.
    const overhead = row(report, 'federation overhead', 'overheadP50');
    expect(overhead.unit).toBe('points');
    expect(overhead.change).toBeGreaterThan(0.2);
    expect(overhead.regression).toBe(true);
    // The same-broker path did not change.
    expect(row(report, 'same-broker qos0', 'p50').verdict).toBe('no change');
    // A threshold above the change lets it pass, however significant.
    expect(compare(run({ seed: 2, crossFactor: 1.8 }), { maxRegression: 0.5 }).verdict).toBe(
      'pass',
    );
  });

  it('tests and shows p99 rows but lets them fail a run only with gateP99', () => {
    const slower = run({ seed: 2, scale: 1.3, repetitionNoise: 0.01 });
    const p99 = row(compare(slower), 'same-broker qos0', 'p99');
    expect(p99).toMatchObject({ verdict: 'regression', gating: false, regression: false });
    expect(p99.pValue).toBeLessThan(0.05);
    expect(regressed(compare(slower))).not.toContain('same-broker qos0 p99');
    const gated = compare(slower, { gateP99: true });
    expect(gated.gateP99).toBe(true);
    expect(regressed(gated)).toContain('same-broker qos0 p99');
    expect(formatCompareText(compare(slower))).toContain('p99 rows inform only');
  });

  it('calls a significant slowdown below the threshold no change', () => {
    const report = compare(run({ seed: 2, scale: 1.06, repetitionNoise: 0.005 }));
    const p50 = row(report, 'same-broker qos0', 'p50');
    expect(p50.pValue).toBeLessThan(0.05);
    expect(p50.change).toBeLessThan(0.1);
    expect(p50.verdict).toBe('no change');
    expect(report.verdict).toBe('pass');
  });

  it('does not fail a change beyond the threshold that noise explains', () => {
    // Medians 1.0 → 1.2 ms (+20 %), but the repetitions overlap: p ≈ 0.2.
    const base = withP50s(baseline, 'same-broker qos0', [1.0, 1.3, 0.8, 1.1, 0.9]);
    const cand = withP50s(baseline, 'same-broker qos0', [1.2, 0.9, 1.4, 1.0, 1.25]);
    const report = compare(cand, {}, base);
    const p50 = row(report, 'same-broker qos0', 'p50');
    expect(p50.change).toBeCloseTo(0.2, 10);
    expect(p50.pValue).toBeGreaterThan(0.05);
    expect(p50.verdict).toBe('no change');
    expect(p50.interval!.lo).toBeLessThan(0);
    expect(report.verdict).toBe('pass');
  });

  it('reports a significant improvement beyond the threshold as such, and passes it', () => {
    const report = compare(run({ seed: 2, scale: 0.8 }));
    expect(row(report, 'same-broker qos0', 'p50').verdict).toBe('improvement');
    expect(row(report, 'same-broker qos0', 'p50').pValue).toBeLessThan(0.05);
    expect(report.verdict).toBe('pass');
  });

  it('judges CPU per message, summed over services, as a cost that gates', () => {
    const cand = structuredClone(run({ seed: 2 }));
    for (const rep of cand.variants[0]!.repetitions) {
      rep.cost.cpuUsPerMessage = Object.fromEntries(
        Object.entries(rep.cost.cpuUsPerMessage).map(([service, us]) => [service, us * 1.3]),
      );
    }
    const report = compare(cand);
    const cpu = row(report, 'same-broker qos0', 'cpuUsPerMessage');
    expect(cpu.baseline.median).toBeGreaterThan(70);
    expect(cpu.change).toBeGreaterThan(0.2);
    expect(cpu.regression).toBe(true);
    expect(regressed(report)).toEqual(['same-broker qos0 cpuUsPerMessage']);
  });

  it('shows link bytes per message without gating on them', () => {
    const cand = structuredClone(run({ seed: 2 }));
    for (const rep of cand.variants[1]!.repetitions) rep.cost.linkBytesPerMessage = 200;
    const report = compare(cand);
    const bytes = row(report, 'cross-broker qos0', 'linkBytesPerMessage');
    expect(bytes.verdict).toBe('regression');
    expect(bytes.gating).toBe(false);
    expect(bytes.regression).toBe(false);
    expect(report.verdict).toBe('pass');
    // Same-broker deliveries cross no link (null, or 0 bytes): no row.
    const zero = structuredClone(cand);
    for (const rep of zero.variants[0]!.repetitions) rep.cost.linkBytesPerMessage = 0;
    expect(
      rowsOf(compare(zero, {}, zero)).some(
        (r) => r.subject === 'same-broker qos0' && r.metric === 'linkBytesPerMessage',
      ),
    ).toBe(false);
    expect(
      rowsOf(report).some(
        (r) => r.subject === 'same-broker qos0' && r.metric === 'linkBytesPerMessage',
      ),
    ).toBe(false);
  });

  it('refuses runs of different scenarios', () => {
    expect(() => compare(run({ scenario: 'paper-2' }))).toThrow(
      expect.objectContaining({ code: 'SCENARIO_MISMATCH', exitCode: 2 }),
    );
  });

  it('fails when the candidate lacks a variant of the baseline, and notes differing parameters', () => {
    const candidate = {
      ...baseline,
      variants: baseline.variants.slice(0, 1),
      parameters: { rate: 5 },
    };
    const report = compare(candidate);
    expect(report.verdict).toBe('fail');
    expect(report.candidates[0]!.notes).toEqual([
      'variant "cross-broker qos0" is missing from the candidate',
      'parameters differ between the runs; differences may come from them',
    ]);
  });
});

describe('compare, with one repetition a side', () => {
  const single = (options: FixtureOptions = {}) =>
    syntheticResults({ samples: 2_000, repetitions: 1, ...options });
  const base = single({ seed: 1 });

  it('makes no test: each row says so, and the verdict is a pass within 3× the threshold', () => {
    const report = compare(single({ seed: 2, scale: 1.2 }), {}, base);
    expect(report.verdict).toBe('pass');
    for (const r of rowsOf(report)) {
      expect(r.verdict).toBe('too few repetitions');
      expect(r.pValue).toBeNull();
      expect(r.interval).toBeNull();
    }
    expect(row(report, 'same-broker qos0', 'p50').change).toBeGreaterThan(0.15);
    expect(report.candidates[0]!.notes.at(-1)).toMatch(
      /cannot make any change significant.*--repeat 5/,
    );
  });

  it('fails a gross change beyond 3× the threshold as unrepeated, but never on p99', () => {
    const report = compare(single({ seed: 2, scale: 1.6 }), {}, base);
    expect(report.verdict).toBe('fail');
    const p50 = row(report, 'same-broker qos0', 'p50');
    expect(p50).toMatchObject({ verdict: 'regression', unrepeated: true, regression: true });
    const p99 = row(report, 'same-broker qos0', 'p99');
    expect(p99.change).toBeGreaterThan(0.3);
    expect(p99.verdict).toBe('too few repetitions');
    expect(p99.regression).toBe(false);
    // Not even when p99 rows gate: one repetition of a tail says nothing.
    const gated = compare(single({ seed: 2, scale: 1.6 }), { gateP99: true }, base);
    expect(row(gated, 'same-broker qos0', 'p99').regression).toBe(false);
    expect(formatCompareText(report)).toMatch(/p50 .* REGRESSION \(unrepeated\)/);
  });

  it('tests nothing against a single baseline repetition either, even with five candidates', () => {
    const report = compare(run({ seed: 2, scale: 1.2 }), {}, base);
    expect(rowsOf(report).every((r) => r.test === null)).toBe(true);
    expect(report.candidates[0]!.notes.at(-1)).toMatch(/^1 against 5 repetitions/);
  });
});

describe('the change interval', () => {
  it('is a bootstrap interval of the change of medians that holds the estimate', () => {
    const interval = changeInterval(
      'relative',
      [1, 1.02, 0.98, 1.01, 0.99],
      [1.2, 1.22, 1.18, 1.21, 1.19],
    );
    expect(interval.estimate).toBeCloseTo(0.2, 10);
    expect(interval.lo!).toBeLessThanOrEqual(0.2);
    expect(interval.hi!).toBeGreaterThanOrEqual(0.2);
    expect(interval.lo!).toBeGreaterThan(0.15);
    // Seeded: the same figures give the same interval.
    expect(
      changeInterval('relative', [1, 1.02, 0.98, 1.01, 0.99], [1.2, 1.22, 1.18, 1.21, 1.19]),
    ).toEqual(interval);
    expect(changeInterval('difference', [0.5, 0.5], [0.75, 0.75])).toMatchObject({
      lo: 0.25,
      hi: 0.25,
    });
    expect(changeInterval('difference', [0.5], [0.6, 0.7])).toMatchObject({ lo: null, hi: null });
  });
});

describe('the compare output', () => {
  it('prints per row the change, its interval, p and the verdict, then one verdict line', () => {
    const text = formatCompareText(compare(run({ seed: 2, crossFactor: 1.8 })));
    expect(text).toMatch(
      /cross-broker qos0\s+p50\s+[\d.]+ ms\s+[\d.]+ ms\s+5\/5\s+\+\d+\.\d %\s+\+\d+\.\d % … \+\d+\.\d %\s+0\.004\s+REGRESSION/,
    );
    expect(text).toMatch(/overheadP50 .* \+\d+\.\d pts … \+\d+\.\d pts .* REGRESSION/);
    expect(text).toContain('one-sided Mann–Whitney p < 0.05');
    expect(text.trimEnd().split('\n').at(-1)).toBe('verdict: FAIL (1 of 1 candidate regressed)');
  });

  it('is a mqfed.compare/v2 document in JSON', () => {
    const report = JSON.parse(formatCompareJson(compare(run({ seed: 2 })))) as CompareReport;
    expect(report).toMatchObject({
      schema: 'mqfed.compare/v2',
      maxRegression: 0.1,
      alpha: 0.05,
      gateP99: false,
      unrepeatedFactor: 3,
      verdict: 'pass',
    });
    expect(report.baseline.repetitions).toBe(5);
    expect(report.candidates[0]!.rows[0]).toMatchObject({
      subject: 'same-broker qos0',
      metric: 'p50',
      unit: 'relative',
      test: 'exact',
      verdict: 'no change',
    });
  });
});
