import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../system/common/testing.ts';
import { tarArchive } from './container-archive.ts';

const run = promisify(execFile);

describe('tarArchive', () => {
  it('writes entries that tar reads back with their owner, mode and content', async () => {
    await using dir = await tempDir('mqfed-archive-');
    const longPath = `/tmp/${'d'.repeat(90)}/${'f'.repeat(60)}.pem`;
    const archive = tarArchive([
      { path: '/data/tls/b1-key.pem', content: 'key\n', mode: 0o400, uid: 1000, gid: 1000 },
      { path: longPath, content: 'x'.repeat(513), mode: 0o444, uid: 1000, gid: 1001 },
    ]);
    expect(archive.length % 512).toBe(0);
    const file = join(dir.path, 'a.tar');
    await writeFile(file, archive);
    // `tar` checks every header's checksum as it lists.
    const { stdout } = await run('tar', ['--numeric-owner', '-tvf', file]);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^-r-------- 1000\/1000\s+4 .* data\/tls\/b1-key\.pem$/);
    expect(lines[1]).toMatch(/^-r--r--r-- 1000\/1001\s+513 /);
    expect(lines[1]!.endsWith(longPath.slice(1))).toBe(true);
    await run('tar', ['-xf', file, '-C', dir.path]);
    expect(await readFile(join(dir.path, 'data/tls/b1-key.pem'), 'utf8')).toBe('key\n');
    expect(await readFile(join(dir.path, longPath), 'utf8')).toBe('x'.repeat(513));
  });
});
