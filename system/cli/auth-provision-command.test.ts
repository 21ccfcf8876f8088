import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuthClient } from '../auth/index.ts';
import { mqfed, spawnMqfed, tempDir } from './cli.fixtures.ts';

// `mqfed auth serve --provision <file>` / MQFED_AUTH_PROVISION (issue 14).

const secret = 'provisioned-secret-of-b1-0123456789';
const adminCredential = 'admin-credential-from-a-docker-secret';

describe('mqfed auth serve --provision registers the services of a manifest at start', () => {
  it('takes the manifest from MQFED_AUTH_PROVISION and the admin credential from a file, as in a Swarm', async () => {
    await using dir = await tempDir();
    const secretFile = join(dir.path, 'mqfed-b1');
    await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
    const credentialFile = join(dir.path, 'mqfed-admin-credential');
    await writeFile(credentialFile, `${adminCredential}\n`, { mode: 0o600 });
    const manifest = join(dir.path, 'provision.json');
    await writeFile(
      manifest,
      JSON.stringify({ services: [{ id: 'b1', role: 'broker', secretFile }] }),
    );
    const dataDir = join(dir.path, 'auth');
    await using child = spawnMqfed(['auth', '--port', '0', '--data-dir', dataDir], {
      MQFED_AUTH_PROVISION: manifest,
      MQFED_ADMIN_CREDENTIAL_FILE: credentialFile,
    });
    const url = /^auth (\S+) jwks /.exec(await child.nextLine())?.[1];
    expect(url).toBeDefined();
    const client = createAuthClient({ url: url! });
    const { token } = await client.issueToken({ id: 'b1', secret });
    expect(token.split('.')).toHaveLength(3);
    expect((await client.listServices(adminCredential)).map((s) => s.id)).toEqual(['b1']);
    // The credential came from the file: none was generated into the data directory.
    expect(await readdir(dataDir)).not.toContain('admin-credential');
    expect(child.stderr()).not.toContain(secret);
    expect(await child.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses an admin credential file that is missing or too short, with exit code 2', async () => {
    await using dir = await tempDir();
    const short = join(dir.path, 'short');
    await writeFile(short, 'short\n');
    for (const [path, problem] of [
      [join(dir.path, 'absent'), /cannot read .*absent \(ENOENT\)/],
      [short, /shorter than 16 characters/],
    ] as const) {
      const run = await mqfed(['auth', '--port', '0', '--data-dir', dir.path], {
        MQFED_ADMIN_CREDENTIAL_FILE: path,
      });
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^mqfed: option '--admin-credential-file <path>'/),
      ]);
      expect(run.stderr).toMatch(problem);
    }
  });

  it('refuses a bad manifest: exit code 1 and one line with PROVISION_INVALID and the problem', async () => {
    await using dir = await tempDir();
    const manifest = join(dir.path, 'provision.json');
    await writeFile(
      manifest,
      JSON.stringify({ services: [{ id: 'b1', role: 'broker', secretfile: '/nowhere' }] }),
    );
    const run = await mqfed(
      ['auth', 'serve', '--port', '0', '--data-dir', dir.path, '--provision', manifest],
      { MQFED_LOG_LEVEL: 'error' },
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^mqfed: PROVISION_INVALID: manifest .*unknown key "secretfile"/),
    ]);
  });

  it('refuses a missing secret file and a short secret, naming the file and the id', async () => {
    await using dir = await tempDir();
    const manifest = join(dir.path, 'provision.json');
    const short = join(dir.path, 'short');
    await writeFile(short, 'too-short\n');
    for (const [secretFile, problem] of [
      [join(dir.path, 'absent'), /secret of b1: cannot read .*absent \(ENOENT\)/],
      [short, /secret of b1 in .*short is 9 bytes; at least 16 needed/],
    ] as const) {
      await writeFile(
        manifest,
        JSON.stringify({ services: [{ id: 'b1', role: 'broker', secretFile }] }),
      );
      const run = await mqfed(['auth', '--port', '0', '--data-dir', dir.path], {
        MQFED_AUTH_PROVISION: manifest,
        MQFED_LOG_LEVEL: 'error',
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^mqfed: PROVISION_INVALID: /);
      expect(run.stderr).toMatch(problem);
    }
  });

  it('lists --provision and MQFED_AUTH_PROVISION under --help', async () => {
    const run = await mqfed(['auth', 'serve', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--provision <file>');
    expect(run.stdout).toContain('MQFED_AUTH_PROVISION');
    expect(run.stdout).toContain('--admin-credential-file <path>');
  });
});
