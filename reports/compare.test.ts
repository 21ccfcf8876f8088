import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Results } from '../harness/index.ts';
import { tempDir } from '../system/common/testing.ts';
import { main, parseMaxRegression } from './cli.ts';
import { type CompareReport, compareResults, formatCompareText } from './compare.ts';
import { type FixtureOptions, syntheticResults } from './fixtures.ts';

// Fewer samples keep the fixtures quick; the compare reads only the figures.
const run = (options: FixtureOptions = {}) => syntheticResults({ samples: 2_000, ...options });
const baseline = run();

const compare = (candidate: Results, maxRegression?: number): CompareReport =>
  compareResults(
    { file: 'base.json', results: baseline },
    [{ file: 'cand.json', results: candidate }],
    {
      ...(maxRegression === undefined ? {} : { maxRegression }),
    },
  );

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

async function writeRuns(
  dir: string,
  runs: Record<string, Results>,
): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const [name, results] of Object.entries(runs)) {
    files[name] = join(dir, `${name}.json`);
    await writeFile(files[name], JSON.stringify(results));
  }
  return files;
}

describe('compare', () => {
  it('fails a candidate whose p99 is more than the threshold slower', () => {
    const report = compare(run({ scale: 1.3 }));
    expect(report.verdict).toBe('fail');
    const p99 = report.candidates[0]!.rows.filter((r) => r.metric === 'p99');
    expect(p99.map((r) => r.regression)).toEqual([true, true]);
    expect(p99[0]!.change).toBeCloseTo(0.3, 1);
    // p50 moved as much but only informs.
    expect(report.candidates[0]!.rows.filter((r) => r.metric === 'p50' && r.regression)).toEqual(
      [],
    );
  });

  it('passes an improvement and a change within the threshold', () => {
    expect(compare(run({ scale: 0.8 })).verdict).toBe('pass');
    expect(compare(run({ scale: 1.05 })).verdict).toBe('pass');
    expect(compare(baseline).verdict).toBe('pass');
  });

  it('fails a candidate whose federation overhead grew by more than the threshold in points', () => {
    const report = compare(run({ crossFactor: 1.8 }));
    expect(report.verdict).toBe('fail');
    const overhead = report.candidates[0]!.rows.find((r) => r.metric === 'overheadP50')!;
    expect(overhead.unit).toBe('points');
    expect(overhead.change).toBeCloseTo(0.3, 1);
    expect(overhead.regression).toBe(true);
    // The same candidate passes a looser threshold (its cross-broker p99 is 20 % slower).
    const loose = compare(run({ crossFactor: 1.8 }), 0.5);
    expect(loose.candidates[0]!.rows.filter((r) => r.regression).map((r) => r.metric)).toEqual([]);
  });

  it('refuses runs of different scenarios', () => {
    expect(() => compare(run({ scenario: 'paper-2' }))).toThrow(
      expect.objectContaining({ code: 'SCENARIO_MISMATCH' }),
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

  it('prints a table with a regression marked and one verdict line', () => {
    const text = formatCompareText(compare(run({ scale: 1.3 })));
    expect(text).toMatch(
      /same-broker qos0\s+p99\s+[\d.]+ ms\s+[\d.]+ ms\s+\+\d+\.\d %\s+REGRESSION/,
    );
    expect(text.trimEnd().split('\n').at(-1)).toBe('verdict: FAIL (1 of 1 candidate regressed)');
  });
});

describe('--max-regression', () => {
  it('takes a fraction, a percentage, or a bare number above 1 as a percentage', () => {
    expect(parseMaxRegression('0.1')).toBe(0.1);
    expect(parseMaxRegression('10%')).toBe(0.1);
    expect(parseMaxRegression('10')).toBe(0.1);
    expect(parseMaxRegression('0')).toBe(0);
    expect(() => parseMaxRegression('-1')).toThrow();
    expect(() => parseMaxRegression('ten')).toThrow();
  });
});

describe('the compare command', () => {
  it('exits 1 on a regression and 0 on an improvement', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, {
      base: baseline,
      worse: run({ scale: 1.3 }),
      better: run({ scale: 0.8 }),
    });
    const worse = captureIo();
    expect(await main(['compare', files.base!, files.worse!], worse.io)).toBe(1);
    expect(worse.out()).toContain('REGRESSION');
    const better = captureIo();
    expect(await main(['compare', files.base!, files.better!], better.io)).toBe(0);
    expect(better.out()).toContain('verdict: PASS');
    // A looser threshold lets the slower run pass.
    expect(
      await main(['compare', files.base!, files.worse!, '--max-regression', '50%'], captureIo().io),
    ).toBe(0);
    // Several candidates: any regression fails the lot.
    expect(await main(['compare', files.base!, files.better!, files.worse!], captureIo().io)).toBe(
      1,
    );
  });

  it('prints JSON with --json and writes an overlaid HTML with --html', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, { base: baseline, worse: run({ scale: 1.3 }) });
    const cap = captureIo();
    const html = join(dir.path, 'compare.html');
    expect(
      await main(['compare', files.base!, files.worse!, '--json', '--html', html], cap.io),
    ).toBe(1);
    const report = JSON.parse(cap.out()) as CompareReport;
    expect(report.schema).toBe('mqfed.compare/v1');
    expect(report.verdict).toBe('fail');
    expect(report.maxRegression).toBe(0.1);
    expect(report.candidates[0]!.candidate.file).toBe(files.worse);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('baseline · same-broker qos0');
    expect(page).toContain('candidate 1 · cross-broker qos0');
    expect(page).toContain(`<code>${files.worse}</code>`);
    expect(page).toMatch(/id="chart-percentiles"[^>]*data-datasets="4"/);
  });

  it('exits 1 with one line when scenarios differ, 2 for a bad flag value', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, {
      base: baseline,
      other: run({ scenario: 'fan-out' }),
    });
    const mismatch = captureIo();
    expect(await main(['compare', files.base!, files.other!], mismatch.io)).toBe(1);
    expect(mismatch.err()).toMatch(/^mqfed-report: SCENARIO_MISMATCH: .*fan-out.*\n$/);
    const bad = captureIo();
    expect(
      await main(['compare', files.base!, files.other!, '--max-regression', 'x'], bad.io),
    ).toBe(2);
    expect(bad.err()).toMatch(
      /^mqfed-report: option '--max-regression <fraction>' argument 'x' is invalid/,
    );
    expect(await main(['compare', files.base!], captureIo().io)).toBe(2);
  });
});

describe('npm run report (the CLI as a process)', () => {
  it('exits 1 on a regression, as CI needs', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, { base: baseline, worse: run({ scale: 1.3 }) });
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const result = await new Promise<{ code: number | null; stdout: string }>((done) => {
      const child = execFile(
        process.execPath,
        [cli, 'compare', files.base!, files.worse!],
        (_, stdout) => done({ code: child.exitCode, stdout }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('verdict: FAIL');
  });
});
