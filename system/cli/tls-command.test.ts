import { X509Certificate } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mqfed, tempDir } from './cli.fixtures.ts';

describe('mqfed tls issue', () => {
  it('makes one CA and a certificate per name, and copies them to --out without the CA key', async () => {
    await using dir = await tempDir('mqfed-cli-tls-issue-');
    const caDir = join(dir.path, 'ca');
    const out = join(dir.path, 'out');
    const args = ['tls', 'issue', 'auth', 'b1', '--dir', caDir, '--out', out, '--host', '10.0.0.7'];
    const first = await mqfed(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /^tls auth cert \S+auth\.pem key \S+auth-key\.pem ca \S+ca\.pem$/m,
    );

    expect((await readdir(out)).sort()).toEqual([
      'auth-key.pem',
      'auth.pem',
      'b1-key.pem',
      'b1.pem',
      'ca.pem',
    ]);
    const ca = new X509Certificate(await readFile(join(out, 'ca.pem')));
    const b1 = new X509Certificate(await readFile(join(out, 'b1.pem')));
    expect(b1.checkIssued(ca)).toBe(true);
    expect(b1.checkHost('b1', { subject: 'never' })).toBe('b1');
    expect(b1.checkHost('auth', { subject: 'never' })).toBeUndefined();
    expect(b1.checkIP('10.0.0.7')).toBe('10.0.0.7');
    expect(b1.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect((await stat(join(out, 'b1-key.pem'))).mode & 0o777).toBe(0o600);

    // Run again (a compose init step on every `up`): the same CA and the same certificates.
    expect((await mqfed(args)).code).toBe(0);
    expect(await readFile(join(out, 'ca.pem'), 'utf8')).toBe(ca.toString());
    expect(await readFile(join(out, 'b1.pem'), 'utf8')).toBe(b1.toString());
  });

  it('refuses a call without names', async () => {
    await using dir = await tempDir('mqfed-cli-tls-issue-');
    const result = await mqfed(['tls', 'issue', '--dir', dir.path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/missing required argument/);
  });
});
