import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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
});
