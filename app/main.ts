import { registerReportCommands } from '../reports/index.ts';
import { createProgram, main } from '../system/cli/index.ts';
import { registerTestbedCommands } from './testbed-commands.ts';

/**
 * The whole `mqfed` command line: the services (system/cli), the testbed (run, list) and the
 * reports (report, compare). [design] It is composed here, above all three, because the system
 * knows nothing of the testbed and the testbed nothing of reports (docs/design.md §2).
 */
export async function runMqfed(argv: string[]): Promise<void> {
  const program = createProgram();
  registerTestbedCommands(program);
  registerReportCommands(program, process, (code) => {
    process.exitCode = code;
  });
  await main(argv, program);
}
