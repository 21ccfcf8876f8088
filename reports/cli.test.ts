import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { Results } from '../harness/results/index.ts';
import { tempDir } from '../system/common/testing.ts';
import { main, parseAlpha, parseMaxRegression, registerReportCommands } from './cli.ts';
import type { CompareReport } from './compare.ts';
import { type FixtureOptions, syntheticResults } from './fixtures.ts';

const run = (options: FixtureOptions = {}) =>
  syntheticResults({ samples: 2_000, repetitions: 5, ...options });
const baseline = run({ seed: 1 });

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

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
  runs: Record<string, Results | string>,
): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const [name, results] of Object.entries(runs)) {
    files[name] = join(dir, `${name}.json`);
    await writeFile(files[name], typeof results === 'string' ? results : JSON.stringify(results));
  }
  return files;
}

/** Runs `node reports/cli.ts …` as CI does. */
function runCli(args: string[], cwd?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd }, (_, stdout, stderr) =>
      done({ code: child.exitCode, stdout, stderr }),
    );
  });
}

/** A bad-input line: `mqfed-report: CODE: …`, one line and nothing else. */
const oneLine = (code: string) => new RegExp(`^mqfed-report: ${code}: [^\\n]+\\n$`);

describe('--max-regression and --alpha', () => {
  it('take a fraction, a percentage, or a bare number above 1 as a percentage', () => {
    expect(parseMaxRegression('0.1')).toBe(0.1);
    expect(parseMaxRegression('10%')).toBe(0.1);
    expect(parseMaxRegression('10')).toBe(0.1);
    expect(parseMaxRegression('0')).toBe(0);
    expect(() => parseMaxRegression('-1')).toThrow();
    expect(() => parseMaxRegression('ten')).toThrow();
    expect(parseAlpha('0.01')).toBe(0.01);
    expect(parseAlpha('5%')).toBe(0.05);
    expect(() => parseAlpha('0')).toThrow();
    expect(() => parseAlpha('100%')).toThrow();
  });
});

describe('the compare command', () => {
  it('exits 0 for runs of one configuration, 1 for a significant regression', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, {
      base: baseline,
      same: run({ seed: 2 }),
      worse: run({ seed: 3, crossFactor: 1.8 }),
    });
    const same = captureIo();
    expect(await main(['compare', files.base!, files.same!], same.io)).toBe(0);
    expect(same.out()).toContain('verdict: PASS');
    expect(same.err()).toBe('');
    const worse = captureIo();
    expect(await main(['compare', files.base!, files.worse!], worse.io)).toBe(1);
    expect(worse.out()).toMatch(/cross-broker qos0\s+p50 .* 0\.004\s+REGRESSION/);
    expect(worse.err()).toBe('');
    // A looser threshold, or a stricter significance level than five repetitions can reach, passes it.
    expect(
      await main(['compare', files.base!, files.worse!, '--max-regression', '50%'], captureIo().io),
    ).toBe(0);
    expect(
      await main(['compare', files.base!, files.worse!, '--alpha', '0.001'], captureIo().io),
    ).toBe(0);
    // p99 rows gate only when asked.
    const tail = await writeRuns(dir.path, {
      slow: run({ seed: 2, scale: 1.3, repetitionNoise: 0.01 }),
    });
    const gated = captureIo();
    expect(await main(['compare', files.base!, tail.slow!, '--gate-p99', '--json'], gated.io)).toBe(
      1,
    );
    expect((JSON.parse(gated.out()) as CompareReport).gateP99).toBe(true);
    // Several candidates: any regression fails the lot.
    expect(await main(['compare', files.base!, files.same!, files.worse!], captureIo().io)).toBe(1);
  });

  it('prints a mqfed.compare/v2 document with --json and writes an overlaid HTML with --html', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, {
      base: baseline,
      worse: run({ seed: 2, crossFactor: 1.8 }),
    });
    const cap = captureIo();
    const html = join(dir.path, 'compare.html');
    expect(
      await main(['compare', files.base!, files.worse!, '--json', '--html', html], cap.io),
    ).toBe(1);
    const report = JSON.parse(cap.out()) as CompareReport;
    expect(report.schema).toBe('mqfed.compare/v2');
    expect(report.verdict).toBe('fail');
    expect(report.alpha).toBe(0.05);
    expect(report.candidates[0]!.candidate.file).toBe(files.worse);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('baseline · same-broker qos0');
    expect(page).toContain('candidate 1 · cross-broker qos0');
  });

  it('exits 2 with one coded line for each kind of bad input', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, {
      base: baseline,
      other: run({ scenario: 'fan-out' }),
      text: 'not json {',
      broken: JSON.stringify({ ...baseline, seed: 'x' }),
    });
    const cases: [string[], string][] = [
      [[files.base!, join(dir.path, 'missing.json')], 'RESULTS_UNREADABLE'],
      [[files.base!, files.text!], 'RESULTS_UNREADABLE'],
      [[files.broken!, files.base!], 'RESULTS_INVALID'],
      [[files.base!, files.other!], 'SCENARIO_MISMATCH'],
      [[files.base!, files.base!, '--bogus'], 'USAGE'],
      [[files.base!, files.base!, '--max-regression', 'x'], 'USAGE'],
      [[files.base!, files.base!, '--alpha', '150%'], 'USAGE'],
      [[files.base!], 'USAGE'],
      [[files.base!, files.base!, '--html', join(files.text!, 'page.html')], 'OUTPUT_UNWRITABLE'],
    ];
    for (const [args, code] of cases) {
      const cap = captureIo();
      expect(await main(['compare', ...args], cap.io), args.join(' ')).toBe(2);
      expect(cap.err(), args.join(' ')).toMatch(oneLine(code));
    }
  });

  it('names its environment variables (none) and its exit codes in --help', async () => {
    const cap = captureIo();
    expect(await main(['compare', '--help'], cap.io)).toBe(0);
    expect(cap.out()).toContain('Environment: none; no MQFED_* variable applies');
    expect(cap.out()).toMatch(/2 {2}bad input/);
    const report = captureIo();
    expect(await main(['report', '--help'], report.io)).toBe(0);
    expect(report.out()).toContain('Environment: none');
  });
});

describe('compare mounted on another command line (mqfed compare)', () => {
  /** A program set up as system/cli's: exit overridden, and any thrown error would exit 1. */
  function mqfed() {
    const err: string[] = [];
    const codes: number[] = [];
    const program = new Command('mqfed')
      .exitOverride()
      .configureOutput({ writeErr: (t) => err.push(t), writeOut: () => {} });
    registerReportCommands(
      program,
      { stdout: { write: () => true }, stderr: { write: (t: string) => err.push(t) } },
      (code) => codes.push(code),
    );
    return { program, err, codes };
  }

  it('sets exit code 2 and prints one line named after it, throwing nothing', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, { base: baseline });
    const { program, err, codes } = mqfed();
    await program.parseAsync(['compare', files.base!, join(dir.path, 'nope.json')], {
      from: 'user',
    });
    expect(codes).toEqual([2]);
    expect(err.join('')).toMatch(/^mqfed: RESULTS_UNREADABLE: [^\n]+nope\.json[^\n]*\n$/);
  });

  it('reports an unknown flag as a usage error of code 2 with a USAGE line', async () => {
    const { program, err } = mqfed();
    await expect(
      program.parseAsync(['compare', 'a.json', 'b.json', '--bogus'], { from: 'user' }),
    ).rejects.toMatchObject({ exitCode: 1, code: 'commander.unknownOption' });
    // system/cli's main turns any CommanderError other than help into exit 2.
    expect(err.join('')).toMatch(/^mqfed: USAGE: unknown option '--bogus' \(see --help\)\n$/);
  });

  it('sets exit code 1 for a regression', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, {
      base: baseline,
      worse: run({ seed: 2, crossFactor: 1.8 }),
    });
    const { program, codes } = mqfed();
    await program.parseAsync(['compare', files.base!, files.worse!], { from: 'user' });
    expect(codes).toEqual([1]);
  });
});

describe('the report command', () => {
  it('writes a page of several runs to report-compare.html, never over a run’s report.html', async () => {
    await using dir = await tempDir('mqfed-report-');
    const files = await writeRuns(dir.path, { a: baseline, b: run({ seed: 2 }) });
    const own = join(dir.path, 'report.html');
    await writeFile(own, 'the first run’s own page');
    const result = await runCli(['report', files.a!, files.b!], dir.path);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/report-compare\.html$/);
    await access(result.stdout.trim());
    expect(await readFile(own, 'utf8')).toBe('the first run’s own page');
  });

  it('writes one run’s page next to it', async () => {
    await using dir = await tempDir('mqfed-report-');
    const files = await writeRuns(dir.path, { a: baseline });
    const cap = captureIo();
    expect(await main(['report', files.a!], cap.io)).toBe(0);
    expect(cap.out()).toBe(`${join(dir.path, 'report.html')}\n`);
  });
});

describe('npm run report (the CLI as a process)', () => {
  it('exits 1 on a regression and 2 on bad input, as CI needs', async () => {
    await using dir = await tempDir('mqfed-compare-');
    const files = await writeRuns(dir.path, {
      base: baseline,
      worse: run({ seed: 2, crossFactor: 1.8 }),
    });
    const worse = await runCli(['compare', files.base!, files.worse!]);
    expect(worse.code).toBe(1);
    expect(worse.stdout).toContain('verdict: FAIL');
    const missing = await runCli(['compare', files.base!, join(dir.path, 'missing.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(oneLine('RESULTS_UNREADABLE'));
  });
});
