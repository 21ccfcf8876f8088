import type { Command } from 'commander';

/** `mqfed auth` (start the service) and its admin subcommands. */
export function registerAuthCommands(program: Command): void {
  program.command('auth').description('Run the authentication service (placeholder)');
}
