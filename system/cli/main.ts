import { Command, CommanderError } from 'commander';
import { registerAuthCommands } from './auth-command.ts';
import { registerBrokerCommand } from './broker-command.ts';
import { registerDiscoveryCommand } from './discovery-command.ts';
import { registerTlsCommand } from './tls-command.ts';
import { registerUpCommand } from './up-command.ts';

/**
 * The `mqfed` command line: argv and the environment become service options here and nowhere
 * else (DESIGN.md §2). Each command lives in its own file and registers itself on the program.
 */
export function createProgram(): Command {
  const program = new Command('mqfed')
    .description('Federated MQTT broker services and a testbed that measures them')
    .exitOverride()
    // One line that names the flag, e.g. `mqfed: unknown option '--bogus' (see --help)`.
    .configureOutput({ outputError: (text, write) => write(`mqfed: ${oneLine(text)}\n`) });
  // Subcommands made with program.command() inherit the exit and output settings above.
  registerUpCommand(program);
  registerAuthCommands(program);
  registerDiscoveryCommand(program);
  registerBrokerCommand(program);
  registerTlsCommand(program);
  return program;
}

/** Exit codes: 0 done, 1 failure at run time, 2 usage error (unknown flag, bad value). */
export async function main(argv: string[], program: Command = createProgram()): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const helpOrVersion =
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.help' ||
        error.code === 'commander.version';
      process.exitCode = helpOrVersion ? 0 : 2;
      return;
    }
    const { code, message } = error as { code?: unknown; message?: unknown };
    process.stderr.write(
      `mqfed: ${typeof code === 'string' ? `${code}: ` : ''}${String(message ?? error)}\n`,
    );
    process.exitCode = 1;
  }
}

/**
 * A commander error as one line. Commander puts its suggestion on a line of its own
 * (`unknown option '--quik'` then `(Did you mean --quick?)`); scripts and people read the first
 * line only, so the suggestion joins it: `unknown option '--quik', did you mean --quick?`.
 */
export function oneLine(text: string): string {
  const message = text
    .replace(/^error: /, '')
    .trim()
    .replace(/\s*\n\(Did you mean (.+)\)$/, ', did you mean $1')
    .replace(/\s*\n\s*/g, ' ');
  return `${message} (see --help)`;
}
