import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { commandNameIn } from './main.ts';

const bin = fileURLToPath(new URL('../bin/mqfed.js', import.meta.url));
const root = new URL('../', import.meta.url).href;

/**
 * Preloaded into the child: a module resolve hook that lists, on exit, every module of this
 * repository the process resolved.
 */
const traceModules = `import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
process.on('exit', () => process.stderr.write('modules ' + JSON.stringify([...seen]) + '\\n'));`;

function mqfed(args: string[], preload?: string) {
  const node =
    preload === undefined
      ? []
      : ['--import', `data:text/javascript,${encodeURIComponent(preload)}`];
  const run = spawnSync(process.execPath, [...node, bin, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function modulesLoadedBy(args: string[]): string[] {
  const run = mqfed(args, traceModules);
  expect(run.status, run.stderr).toBe(0);
  const line = run.stderr.split('\n').find((l) => l.startsWith('modules '));
  expect(line, run.stderr).toBeDefined();
  return (JSON.parse(line!.slice('modules '.length)) as string[])
    .filter((url) => url.startsWith(root) && !url.includes('/node_modules/'))
    .map((url) => url.slice(root.length));
}

describe('the mqfed command line loads what the command needs', () => {
  it('runs `mqfed broker --help` without loading the harness or the reports', () => {
    const loaded = modulesLoadedBy(['broker', '--help']);
    expect(loaded).toContain('system/cli/broker-command.ts');
    expect(loaded.filter((path) => /^(harness|reports|scenarios)\//.test(path))).toEqual([]);
    expect(loaded).not.toContain('app/testbed-commands.ts');
  });

  it('loads the testbed for `mqfed run --help`, and shows the real options', () => {
    const loaded = modulesLoadedBy(['run', '--help']);
    expect(loaded).toContain('app/testbed-commands.ts');
    expect(loaded).toContain('harness/index.ts');
    const help = mqfed(['help', 'run']);
    expect(help.stdout).toMatch(/--quick/);
  });

  it('lists the service, testbed and report commands under --help', () => {
    const help = mqfed(['--help']);
    expect(help.status).toBe(0);
    for (const name of ['up', 'auth', 'broker', 'discovery', 'list', 'run', 'report', 'compare']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
  });

  it('suggests a testbed command for a misspelled one', () => {
    const run = mqfed(['rnu']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      "mqfed: unknown command 'rnu', did you mean run? (see --help)",
    ]);
  });

  it('refuses a misspelled flag of a testbed command with one line naming it, and exit code 2', () => {
    const run = mqfed(['run', 'paper-1', '--quik']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      "mqfed: unknown option '--quik', did you mean --quick? (see --help)",
    ]);
  });

  it.each([
    [['broker', '--id', 'b1'], 'broker'],
    [['--help'], undefined],
    [['help', 'run'], 'run'],
    [['--', 'report', 'x.json'], 'report'],
    [[], undefined],
  ])('reads %j as the command %s', (args, name) => {
    expect(commandNameIn(args)).toBe(name);
  });
});
