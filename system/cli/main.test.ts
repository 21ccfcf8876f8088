import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { createProgram, oneLine } from './main.ts';

const bin = fileURLToPath(new URL('../../bin/mqfed.js', import.meta.url));

function mqfed(...args: string[]) {
  const run = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 15_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the mqfed command line', () => {
  it('lists its commands under --help and exits 0', () => {
    const run = mqfed('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/Usage: mqfed/);
    expect(run.stdout).toMatch(/\bauth\b/);
    expect(run.stdout).toMatch(/\bdiscovery\b/);
  });

  it('refuses an unknown flag with exit code 2 and one line that names it', () => {
    const run = mqfed('--bogus');
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual(["mqfed: unknown option '--bogus' (see --help)"]);
  });

  it('refuses an unknown command with exit code 2', () => {
    const run = mqfed('teleport');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/teleport/);
  });

  it('refuses a misspelled flag with one line that names it and the flag it resembles', () => {
    const run = mqfed('up', '--hots', '127.0.0.1');
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      "mqfed: unknown option '--hots', did you mean --host? (see --help)",
    ]);
  });

  it.each([
    [
      "error: unknown option '--quik'\n(Did you mean --quick?)\n",
      "unknown option '--quik', did you mean --quick? (see --help)",
    ],
    [
      "error: missing required argument 'scenario'\n",
      "missing required argument 'scenario' (see --help)",
    ],
    ['error: first\nsecond\n', 'first second (see --help)'],
  ])('puts commander’s message %j on one line', (text, line) => {
    expect(oneLine(text)).toBe(line);
  });
});

/** Every command of the program, subcommands included, with its path: `auth register`. */
function commandsOf(command: Command, path = ''): [string, Command][] {
  return command.commands.flatMap((sub) => {
    const name = `${path}${sub.name()}`;
    return [[name, sub] as [string, Command], ...commandsOf(sub, `${name} `)];
  });
}

/**
 * What one admin call acts on, not a setting of the environment it runs in: these flags have no
 * variable, on purpose. Every other option has one.
 */
const perCallFlags = new Set([
  '--role',
  '--id',
  '--pub',
  '--sub',
  '--secret-file',
  '--jti',
  '--exp',
]);
const adminCommands = new Set([
  'auth register',
  'auth rotate-secret',
  'auth revoke',
  'auth rotate-key',
  'auth revoke-token',
  'auth list',
]);

describe('every option of every service command can come from the environment', () => {
  it.each(commandsOf(createProgram()).filter(([, command]) => command.options.length > 0))(
    '`mqfed %s --help` names the MQFED_* variable behind each option',
    (name, command) => {
      const help = command.helpInformation().replace(/\s+/g, ' ');
      for (const option of command.options) {
        if (adminCommands.has(name) && perCallFlags.has(option.long!)) continue;
        expect(option.envVar, `${name} ${option.long}`).toMatch(/^MQFED_[A-Z_]+$/);
        // A secret's flag is hidden (it is refused on the command line: secret-flags.ts); the
        // help names its variable in the description of the option that stands for it.
        expect(help).toContain(option.hidden ? option.envVar : `env: ${option.envVar}`);
      }
    },
  );
});
