import type { Command } from 'commander';

/** `mqfed discovery`: start the discovery service. */
export function registerDiscoveryCommand(program: Command): void {
  program.command('discovery').description('Run the discovery service (placeholder)');
}
