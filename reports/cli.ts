import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  compareResults,
  DEFAULT_ALPHA,
  DEFAULT_MAX_REGRESSION,
  formatCompareJson,
  formatCompareText,
  UNREPEATED_FACTOR,
} from './compare.ts';
import { loadResults } from './load-results.ts';
import { BAD_INPUT_EXIT_CODE, ReportError } from './report-error.ts';
import { renderReportHtml } from './report-html.ts';

/**
 * `npm run report -- <command>` (and `mqfed report`, `mqfed compare`): HTML reports and the CI
 * regression compare, from results files. Exit codes, so CI can tell a regression from a broken
 * job: 0 done (compare: no regression), 1 a regression, 2 bad input (an unreadable, invalid or
 * mismatched results file, an unknown flag, a bad value, an unwritable output), printed as one
 * line `mqfed-report: CODE: message`.
 */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const NAME = 'mqfed-report';

/** The exit code of a compare that found a regression. */
export const REGRESSION_EXIT_CODE = 1;

/** Where `report` writes a page of several runs when `--out` is not given (never a run's own). */
export const COMPARE_REPORT_FILE = 'report-compare.html';

const ENVIRONMENT_HELP = '\nEnvironment: none; no MQFED_* variable applies to this command.\n';

const EXIT_HELP = `
Exit codes:
  0  no regression
  1  a regression: some gating figure changed beyond the threshold, and significantly
  2  bad input: unreadable or invalid results file (RESULTS_UNREADABLE, RESULTS_INVALID),
     runs of different scenarios (SCENARIO_MISMATCH), an unwritable --html (OUTPUT_UNWRITABLE),
     a bad flag or value (USAGE)

A row fails only when its change is beyond --max-regression AND the one-sided Mann–Whitney U
test over the runs' repetitions gives p < --alpha. Rows that gate: p50 and CPU per message of
each variant, and the federation overhead at p50; p99 rows only with --gate-p99. With too few
repetitions for any p < alpha (1 against anything; 2 against 2; 3 against 3), p99 rows never
fail and other rows fail only beyond ${UNREPEATED_FACTOR}× the threshold: make both runs with
--repeat 5.
`;

/** A fraction (`0.1`), a percentage with a sign (`10%`), or a bare number above 1 as a percentage. */
function parseFraction(text: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/.exec(text);
  if (match === null) throw new InvalidArgumentError(what);
  const value = Number(match[1]);
  return match[2] === '%' || value > 1 ? value / 100 : value;
}

/**
 * `--max-regression`: a fraction (`0.1`), a percentage with a sign (`10%`), or a bare number above 1
 * read as a percentage (`10`, as `mqfed compare --max-regression PCT` has it).
 */
export function parseMaxRegression(text: string): number {
  return parseFraction(text, 'expected a fraction such as 0.1 or a percentage such as 10%');
}

/** `--alpha`: a significance level strictly between 0 and 1 (`0.05` or `5%`). */
export function parseAlpha(text: string): number {
  const what = 'expected a significance level between 0 and 1, such as 0.05 or 5%';
  const value = parseFraction(text, what);
  if (!(value > 0 && value < 1)) throw new InvalidArgumentError(what);
  return value;
}

/** One line, `name: USAGE: …`, for a command-line mistake. */
function usageOutput(name: string) {
  return (text: string, write: (text: string) => void) =>
    write(`${name}: USAGE: ${text.replace(/^error: /, '').trimEnd()} (see --help)\n`);
}

export function createReportProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command(NAME)
    .description('Reports and regression compare of mqfed results files (docs/results.md)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // One line that names the problem, e.g. `mqfed-report: USAGE: unknown option '--bogus' (see --help)`.
      outputError: usageOutput(NAME),
    });
  registerReportCommands(program, io, setExitCode);
  return program;
}

async function writeOutput(path: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ReportError(
      'OUTPUT_UNWRITABLE',
      `${path}: cannot write (${typeof code === 'string' ? code : (error as Error).message})`,
      { cause: error },
    );
  }
}

/**
 * Adds `report` and `compare` to a program, so another command line (such as `mqfed`) can offer
 * them too. `setExitCode(1)` is how compare reports a regression, `setExitCode(2)` bad input:
 * the actions catch their own errors and print one line named after `program`, so a parent
 * command line that exits 1 for any thrown error cannot blur the two.
 */
export function registerReportCommands(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  const name = program.name();
  const guarded =
    <Args extends unknown[]>(action: (...args: Args) => Promise<void>) =>
    async (...args: Args): Promise<void> => {
      try {
        await action(...args);
      } catch (error) {
        if (error instanceof CommanderError) throw error;
        const { code, message } = error as { code?: unknown; message?: unknown };
        const shown = typeof code === 'string' ? code : 'UNEXPECTED';
        io.stderr.write(`${name}: ${shown}: ${String(message ?? error).replace(/\s+/g, ' ')}\n`);
        setExitCode(error instanceof ReportError ? error.exitCode : BAD_INPUT_EXIT_CODE);
      }
    };

  program
    .command('report')
    .description('Render one self-contained HTML report (Chart.js inlined, opens offline)')
    .argument('<results...>', 'results.json file(s); several runs of a scenario are overlaid')
    .option(
      '-o, --out <file>',
      `where to write the HTML (default: report.html next to a single results file; for several, ${COMPARE_REPORT_FILE} in the current directory)`,
    )
    .option('--title <text>', 'page title (default: mqfed report — <scenario>)')
    .configureOutput({ outputError: usageOutput(name) })
    .addHelpText('after', ENVIRONMENT_HELP)
    .action(
      guarded(async (files: string[], options: { out?: string; title?: string }) => {
        const runs = await Promise.all(files.map((file) => loadResults(file)));
        const html = renderReportHtml(runs, {
          sources: files,
          ...(options.title === undefined ? {} : { title: options.title }),
        });
        // [design] Several runs make a page of their own: writing it over the first run's
        // report.html would silently lose that run's page.
        const fallback =
          files.length === 1 ? join(dirname(files[0]!), 'report.html') : COMPARE_REPORT_FILE;
        const out = resolve(options.out ?? fallback);
        await writeOutput(out, html);
        io.stdout.write(`${out}\n`);
      }),
    );

  program
    .command('compare')
    .description(
      'Compare candidate runs with a baseline run of the same scenario, repetition by repetition: ' +
        'exit 1 on a significant regression, 2 on bad input',
    )
    .argument('<baseline>', 'the baseline results.json')
    .argument('<candidates...>', 'one or more candidate results.json files')
    .option(
      '--max-regression <fraction>',
      'smallest change that fails: delays and CPU this much higher, overheads this many points: 0.1, 10% or 10',
      parseMaxRegression,
      DEFAULT_MAX_REGRESSION,
    )
    .option(
      '--alpha <level>',
      'significance level of the one-sided Mann–Whitney U test: 0.05 or 5%',
      parseAlpha,
      DEFAULT_ALPHA,
    )
    .option(
      '--gate-p99',
      'let p99 rows (variant p99, overhead p99) fail the run too: for long runs on a quiet machine',
    )
    .option('--json', 'print the comparison as a mqfed.compare/v2 JSON document')
    .option('--html <file>', 'also write an HTML report with all runs overlaid')
    .configureOutput({ outputError: usageOutput(name) })
    .addHelpText('after', `${ENVIRONMENT_HELP}${EXIT_HELP}`)
    .action(
      guarded(
        async (
          baselineFile: string,
          candidateFiles: string[],
          options: {
            maxRegression: number;
            alpha: number;
            gateP99?: boolean;
            json?: boolean;
            html?: string;
          },
        ) => {
          const [baseline, ...candidates] = await Promise.all(
            [baselineFile, ...candidateFiles].map(async (file) => ({
              file,
              results: await loadResults(file),
            })),
          );
          const report = compareResults(baseline!, candidates, {
            maxRegression: options.maxRegression,
            alpha: options.alpha,
            gateP99: options.gateP99 === true,
          });
          io.stdout.write(
            options.json === true ? formatCompareJson(report) : formatCompareText(report),
          );
          if (options.html !== undefined) {
            const html = renderReportHtml(
              [baseline!.results, ...candidates.map((c) => c.results)],
              {
                labels: ['baseline', ...candidateFiles.map((_, i) => `candidate ${i + 1}`)],
                sources: [baselineFile, ...candidateFiles],
              },
            );
            await writeOutput(resolve(options.html), html);
          }
          if (report.verdict === 'fail') setExitCode(REGRESSION_EXIT_CODE);
        },
      ),
    );
}

/** Runs the CLI and returns its exit code. */
export async function main(argv: readonly string[], io: CliIo = process): Promise<number> {
  let exitCode = 0;
  const program = createReportProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      const shown = error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
      return shown || error.exitCode === 0 ? 0 : BAD_INPUT_EXIT_CODE;
    }
    // The actions catch their own errors; anything here is the tool's own failure, not a verdict.
    const { code, message } = error as { code?: unknown; message?: unknown };
    io.stderr.write(
      `${NAME}: ${typeof code === 'string' ? code : 'UNEXPECTED'}: ${String(message ?? error)}\n`,
    );
    return BAD_INPUT_EXIT_CODE;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
