import type { Command } from 'commander';

/**
 * A secret given as a flag is readable by every user of the machine in `ps` and
 * `/proc/<pid>/cmdline`. [design] The option stays only as the carrier of its environment
 * variable (commander reads env through an option), hidden from `--help`, and a value that came
 * from the command line is refused with exit code 2 and the alternatives named.
 */
export function refuseSecretOnCommandLine(
  command: Command,
  option: { flag: string; key: string; alternatives: string },
): void {
  if (command.getOptionValueSource(option.key) !== 'cli') return;
  command.error(
    `option '${option.flag}' would show the secret to every user in the process list; use ${option.alternatives}`,
    { exitCode: 2, code: 'mqfed.secretOnCommandLine' },
  );
}
