import type { Command } from 'commander';
import { createProgram, main } from '../system/cli/index.ts';

/**
 * The whole `mqfed` command line: the services (system/cli), the testbed (run, list) and the
 * reports (report, compare). [design] It is composed here, above all three, because the system
 * knows nothing of the testbed and the testbed nothing of reports (docs/design.md §2).
 *
 * The testbed pulls in the whole harness (workload, recording, testcontainers) and the reports
 * pull in Chart.js, so they are imported only when the command line may need them: a service
 * command (`mqfed broker`, `mqfed auth`, ...) on a production host starts without loading either.
 * Anything else (a testbed command, `--help`, an unknown command that wants a "did you mean")
 * gets every command, as each defines itself: no second copy of names or help to drift.
 */
export async function runMqfed(argv: string[]): Promise<void> {
  const program = createProgram();
  if (!isServiceCommand(program, commandNameIn(argv.slice(2)))) {
    const [{ registerTestbedCommands }, { registerReportCommands }] = await Promise.all([
      import('./testbed-commands.ts'),
      import('../reports/index.ts'),
    ]);
    registerTestbedCommands(program);
    registerReportCommands(program, process, (code) => {
      process.exitCode = code;
    });
  }
  await main(argv, program);
}

/**
 * The subcommand that `args` (the words after `mqfed`) run, as commander picks it: the first word
 * that is not an option (`mqfed` itself takes none but --help), or the one after `help`.
 */
export function commandNameIn(args: readonly string[]): string | undefined {
  const words = args.filter((arg) => !arg.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

function isServiceCommand(program: Command, name: string | undefined): boolean {
  return (
    name !== undefined &&
    program.commands.some((command) => command.name() === name || command.aliases().includes(name))
  );
}
