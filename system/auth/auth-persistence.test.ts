import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { audienceFor } from '../protocol/index.ts';
import { manualClock, tempDir } from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';
import { startAuthService } from './auth-service.ts';
import { createTokenVerifier } from './token-verifier.ts';

describe('the authentication service keeps its state in the data directory', () => {
  it('after a restart, old tokens verify, old secrets work and the admin credential file is reused', async () => {
    await using dir = await tempDir();
    const dataDir = join(dir.path, 'nested', 'auth');
    const clock = manualClock();

    await using first = await startAuthService({ dataDir, logLevel: 'silent', clock });
    expect(first.adminCredentialSource).toBe('generated');
    expect(first.adminCredentialPath).toBe(join(dataDir, 'admin-credential'));
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const credentialFile = await readFile(first.adminCredentialPath!, 'utf8');
    expect(credentialFile.trim()).toBe(first.adminCredential);
    expect(first.adminCredential).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const credentials = await createAuthClient({ url: first.url }).registerService(
      first.adminCredential,
      {
        id: 'b1',
        role: 'broker',
        topics: { pub: ['x/#'], sub: [] },
      },
    );
    const { token } = await createAuthClient({ url: first.url }).issueToken(credentials);
    const kidsBefore = await (await fetch(first.jwksUrl)).json();
    await first.close();

    await using second = await startAuthService({ dataDir, logLevel: 'silent', clock });
    expect(second.adminCredentialSource).toBe('file');
    expect(second.adminCredential).toBe(first.adminCredential);
    expect((await stat(second.adminCredentialPath!)).mode & 0o777).toBe(0o600);
    expect(await (await fetch(second.jwksUrl)).json()).toEqual(kidsBefore);

    const verifier = createTokenVerifier({
      jwksUrl: second.jwksUrl,
      issuer: second.issuer,
      audience: audienceFor(second.audience, 'auth'),
      clock,
    });
    expect((await verifier.verify(token)).sub).toBe('b1');
    const client = createAuthClient({ url: second.url });
    const fresh = await client.issueToken(credentials);
    expect((await verifier.verify(fresh.token)).topics).toEqual({ pub: ['x/#'], sub: [] });
    expect((await client.listServices(second.adminCredential)).map((s) => s.id)).toEqual(['b1']);
  });

  it('uses an admin credential given in the options and writes no file', async () => {
    await using dir = await tempDir();
    await using auth = await startAuthService({
      dataDir: dir.path,
      adminCredential: 'an-operator-chosen-credential',
      logLevel: 'silent',
    });
    expect(auth.adminCredentialSource).toBe('option');
    expect(auth.adminCredentialPath).toBeUndefined();
    await expect(stat(join(dir.path, 'admin-credential'))).rejects.toThrow(/ENOENT/);
    await expect(
      createAuthClient({ url: auth.url }).listServices('an-operator-chosen-credential'),
    ).resolves.toEqual([]);
  });

  it('refuses options that make no sense before touching the disk', async () => {
    await using dir = await tempDir();
    for (const bad of [
      { tokenTtlMs: 10 },
      { port: 70_000 },
      { adminCredential: 'short' },
      { issuer: '' },
    ]) {
      await expect(
        startAuthService({ dataDir: join(dir.path, 'never'), logLevel: 'silent', ...bad }),
      ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    }
    await expect(stat(join(dir.path, 'never'))).rejects.toThrow(/ENOENT/);
  });
});
