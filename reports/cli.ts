import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import {
  compareResults,
  DEFAULT_MAX_REGRESSION,
  formatCompareJson,
  formatCompareText,
} from './compare.ts';
import { loadResults } from './load-results.ts';
import { renderReportHtml } from './report-html.ts';

/**
 * `npm run report -- <command>`: HTML reports and the CI regression compare, from results files.
 * Exit codes: 0 done (compare: no regression), 1 regression or a broken / unreadable file,
 * 2 usage error (unknown flag, bad value, missing argument).
 */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const NAME = 'mqfed-report';

/**
 * `--max-regression`: a fraction (`0.1`), a percentage with a sign (`10%`), or a bare number above 1
 * read as a percentage (`10`, as `mqfed compare --max-regression PCT` has it).
 */
export function parseMaxRegression(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$/.exec(text);
  if (match === null) {
    throw new InvalidArgumentError('expected a fraction such as 0.1 or a percentage such as 10%');
  }
  const value = Number(match[1]);
  return match[2] === '%' || value > 1 ? value / 100 : value;
}

export function createReportProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command(NAME)
    .description('Reports and regression compare of mqfed results files (docs/results.md)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // One line that names the problem, e.g. `mqfed-report: unknown option '--bogus' (see --help)`.
      outputError: (text, write) =>
        write(`${NAME}: ${text.replace(/^error: /, '').trimEnd()} (see --help)\n`),
    });
  registerReportCommands(program, io, setExitCode);
  return program;
}

/**
 * Adds `report` and `compare` to a program, so another command line (such as `mqfed`) can offer
 * them too. `setExitCode(1)` is how compare reports a regression.
 */
export function registerReportCommands(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command('report')
    .description('Render one self-contained HTML report (Chart.js inlined, opens offline)')
    .argument('<results...>', 'results.json file(s); several runs of a scenario are overlaid')
    .option(
      '-o, --out <file>',
      'where to write the HTML (default: report.html next to the first results file)',
    )
    .option('--title <text>', 'page title (default: mqfed report — <scenario>)')
    .action(async (files: string[], options: { out?: string; title?: string }) => {
      const runs = await Promise.all(files.map((file) => loadResults(file)));
      const html = renderReportHtml(runs, {
        sources: files,
        ...(options.title === undefined ? {} : { title: options.title }),
      });
      const out = resolve(options.out ?? join(dirname(files[0]!), 'report.html'));
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, html);
      io.stdout.write(`${out}\n`);
    });

  program
    .command('compare')
    .description(
      'Compare candidate runs with a baseline run of the same scenario; exit 1 on a regression',
    )
    .argument('<baseline>', 'the baseline results.json')
    .argument('<candidates...>', 'one or more candidate results.json files')
    .option(
      '--max-regression <fraction>',
      'fail when p99 is this much slower, or overhead this many points higher: 0.1, 10% or 10',
      parseMaxRegression,
      DEFAULT_MAX_REGRESSION,
    )
    .option('--json', 'print the comparison as JSON instead of a table')
    .option('--html <file>', 'also write an HTML report with all runs overlaid')
    .action(
      async (
        baselineFile: string,
        candidateFiles: string[],
        options: { maxRegression: number; json?: boolean; html?: string },
      ) => {
        const [baseline, ...candidates] = await Promise.all(
          [baselineFile, ...candidateFiles].map(async (file) => ({
            file,
            results: await loadResults(file),
          })),
        );
        const report = compareResults(baseline!, candidates, {
          maxRegression: options.maxRegression,
        });
        if (options.html !== undefined) {
          const html = renderReportHtml([baseline!.results, ...candidates.map((c) => c.results)], {
            labels: ['baseline', ...candidateFiles.map((_, i) => `candidate ${i + 1}`)],
            sources: [baselineFile, ...candidateFiles],
          });
          const out = resolve(options.html);
          await mkdir(dirname(out), { recursive: true });
          await writeFile(out, html);
        }
        io.stdout.write(
          options.json === true ? formatCompareJson(report) : formatCompareText(report),
        );
        if (report.verdict === 'fail') setExitCode(1);
      },
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
      return shown || error.exitCode === 0 ? 0 : 2;
    }
    const { code, message } = error as { code?: unknown; message?: unknown };
    io.stderr.write(
      `${NAME}: ${typeof code === 'string' ? `${code}: ` : ''}${String(message ?? error)}\n`,
    );
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
