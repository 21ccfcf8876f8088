import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAuthClient, createTokenVerifier, startAuthService } from '../auth/index.ts';
import { audienceFor } from '../protocol/index.ts';
import { mqfed, spawnMqfed, tempDir } from './cli.fixtures.ts';

describe('mqfed auth runs the authentication service', () => {
  it('prints its URLs and the admin credential path, serves, and exits 0 on SIGTERM', async () => {
    await using dir = await tempDir();
    await using child = spawnMqfed(['auth', '--port', '0', '--data-dir', dir.path]);
    {
      const first = await child.nextLine();
      const match = /^auth (http:\/\/127\.0\.0\.1:\d+) jwks (\S+)$/.exec(first);
      expect(match, first).not.toBeNull();
      const [, url, jwksUrl] = match!;
      expect(jwksUrl).toBe(`${url}/.well-known/jwks.json`);
      const credentialPath = join(dir.path, 'admin-credential');
      expect(await child.nextLine()).toBe(`admin credential written to ${credentialPath}`);

      const credential = (await readFile(credentialPath, 'utf8')).trim();
      const client = createAuthClient({ url: url! });
      const broker = await client.registerService(credential, {
        role: 'broker',
        topics: { pub: [], sub: [] },
      });
      const { token } = await client.issueToken(broker);
      const verifier = createTokenVerifier({
        jwksUrl: jwksUrl!,
        issuer: 'mqfed-auth',
        // The credentials grant gives a token for the auth service itself (to exchange).
        audience: 'mqfed:auth',
      });
      expect((await verifier.verify(token)).sub).toBe(broker.id);
    }
    expect(await child.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses a bad --port with exit code 2 and one line naming the flag', async () => {
    const run = await mqfed(['auth', '--port', 'abc']);
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--port/);
  });

  it.each([
    [['auth', 'serve', '--token-ttl', 'soon'], '--token-ttl'],
    [['auth', 'register', '--url', 'http://127.0.0.1:9', '--role', 'broker', '--bogus'], '--bogus'],
    [['auth', 'register', '--url', 'http://127.0.0.1:9', '--role', 'admin'], '--role'],
    [
      ['auth', 'register', '--url', 'http://127.0.0.1:9', '--role', 'broker', '--pub', 'a/#/b'],
      '--pub',
    ],
    [['auth', 'revoke', '--url', 'http://127.0.0.1:9', '--admin-credential-file', 'x'], '--id'],
    [['auth', 'rotate-key', '--url', 'http://127.0.0.1:9'], '--admin-credential'],
    // A credential on the command line would be in every user's `ps`: refused before any use.
    [
      ['auth', 'rotate-key', '--url', 'http://127.0.0.1:9', '--admin-credential', 'x'],
      'process list',
    ],
    [
      ['auth', 'serve', '--port', '0', '--admin-credential', 'long-enough-credential-1234'],
      'process list',
    ],
  ])('refuses %j with exit code 2 naming %s', async (args, flag) => {
    const run = await mqfed(args);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining(flag)]);
  });

  it('lists the server flags and the admin commands under --help', async () => {
    const run = await mqfed(['auth', '--help']);
    expect(run.code).toBe(0);
    for (const word of [
      'serve',
      'register',
      'rotate-secret',
      'revoke',
      'rotate-key',
      '--data-dir',
      '--token-ttl',
      'MQFED_ADMIN_CREDENTIAL',
    ]) {
      expect(run.stdout).toContain(word);
    }
  });
});

describe('mqfed auth admin commands call a running service', () => {
  it('register, rotate-secret, rotate-key, list and revoke print JSON results', async () => {
    await using dir = await tempDir();
    await using auth = await startAuthService({ dataDir: dir.path, logLevel: 'silent' });
    const admin = ['--url', auth.url, '--admin-credential-file', auth.adminCredentialPath!];
    const client = createAuthClient({ url: auth.url });

    const registered = await mqfed([
      'auth',
      'register',
      ...admin,
      '--role',
      'broker',
      '--id',
      'b1',
      '--pub',
      'a/#, b/+',
      '--sub',
      'c/#',
    ]);
    expect(registered.code).toBe(0);
    const created = JSON.parse(registered.stdout) as { id: string; secret: string };
    expect(created).toEqual({ id: 'b1', secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const verifier = createTokenVerifier({ ...auth, audience: audienceFor(auth.audience, 'auth') });
    const claims = await verifier.verify((await client.issueToken(created)).token);
    expect(claims.topics).toEqual({ pub: ['a/#', 'b/+'], sub: ['c/#'] });

    // The credential may also come from the environment.
    const viaEnv = await mqfed(['auth', 'rotate-secret', '--url', auth.url, '--id', 'b1'], {
      MQFED_ADMIN_CREDENTIAL: auth.adminCredential,
    });
    expect(viaEnv.code).toBe(0);
    const rotated = JSON.parse(viaEnv.stdout) as { id: string; secret: string };
    await expect(client.issueToken(created)).rejects.toMatchObject({
      code: 'CLIENT_CREDENTIALS_INVALID',
    });

    const key = await mqfed(['auth', 'rotate-key', ...admin]);
    expect(JSON.parse(key.stdout)).toEqual({ kid: expect.any(String) });
    const listed = await mqfed(['auth', 'list', ...admin]);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((s) => s.id)).toEqual(['b1']);

    const revoked = await mqfed(['auth', 'revoke', ...admin, '--id', 'b1']);
    expect([revoked.code, JSON.parse(revoked.stdout)]).toEqual([0, { id: 'b1', revoked: true }]);
    await expect(client.issueToken(rotated)).rejects.toMatchObject({
      code: 'CLIENT_CREDENTIALS_INVALID',
    });
  });

  it('reports a refusal of the service with its code and exit code 1', async () => {
    await using dir = await tempDir();
    await using auth = await startAuthService({ dataDir: dir.path, logLevel: 'silent' });
    const wrong = await mqfed(['auth', 'rotate-key', '--url', auth.url], {
      MQFED_ADMIN_CREDENTIAL: 'not-the-credential',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^mqfed: ADMIN_CREDENTIAL_INVALID: /);
    const missing = await mqfed(['auth', 'revoke', '--url', auth.url, '--id', 'ghost'], {
      MQFED_ADMIN_CREDENTIAL: auth.adminCredential,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^mqfed: SERVICE_NOT_FOUND: /);
  });
});

describe('mqfed auth register --secret-file keeps the secret off the terminal', () => {
  it('writes the secret to an owner-only file a broker can read, and prints only where', async () => {
    await using dir = await tempDir();
    await using auth = await startAuthService({ dataDir: dir.path, logLevel: 'silent' });
    const admin = ['--url', auth.url, '--admin-credential-file', auth.adminCredentialPath!];
    const path = join(dir.path, 'b1.secret');

    const registered = await mqfed([
      'auth',
      'register',
      ...admin,
      '--role',
      'broker',
      '--id',
      'b1',
      '--secret-file',
      path,
    ]);
    expect([registered.code, JSON.parse(registered.stdout)]).toEqual([
      0,
      { id: 'b1', secretFile: path },
    ]);
    const secret = (await readFile(path, 'utf8')).trim();
    expect(registered.stdout).not.toContain(secret);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const client = createAuthClient({ url: auth.url });
    await expect(client.issueToken({ id: 'b1', secret })).resolves.toHaveProperty('token');

    // rotate-secret replaces the file whole; the old secret stops working.
    const rotated = await mqfed([
      'auth',
      'rotate-secret',
      ...admin,
      '--id',
      'b1',
      '--secret-file',
      path,
    ]);
    expect(rotated.code).toBe(0);
    const next = (await readFile(path, 'utf8')).trim();
    expect(next).not.toBe(secret);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await expect(client.issueToken({ id: 'b1', secret: next })).resolves.toHaveProperty('token');
    expect((await readdir(dir.path)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a path it cannot write with exit code 2, before anything is registered', async () => {
    await using dir = await tempDir();
    await using auth = await startAuthService({ dataDir: dir.path, logLevel: 'silent' });
    const run = await mqfed([
      'auth',
      'register',
      '--url',
      auth.url,
      '--admin-credential-file',
      auth.adminCredentialPath!,
      '--role',
      'broker',
      '--id',
      'b1',
      '--secret-file',
      join(dir.path, 'no-such-dir', 'b1.secret'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringContaining('--secret-file')]);
    expect(await createAuthClient({ url: auth.url }).listServices(auth.adminCredential)).toEqual(
      [],
    );
  });
});

describe('mqfed auth revoke-token', () => {
  it('revokes one token by its jti and prints the entry; the token is then refused at exchange', async () => {
    await using dir = await tempDir();
    await using auth = await startAuthService({ dataDir: dir.path, logLevel: 'silent' });
    const client = createAuthClient({ url: auth.url });
    const credentials = await client.registerService(auth.adminCredential, {
      id: 'b1',
      role: 'broker',
      topics: { pub: [], sub: [] },
    });
    const { token } = await client.issueToken(credentials, 'auth');
    const { jti, exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

    const run = await mqfed([
      'auth',
      'revoke-token',
      '--url',
      auth.url,
      '--admin-credential-file',
      auth.adminCredentialPath!,
      '--jti',
      jti,
      '--exp',
      String(exp),
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ kind: 'token', jti });
    await expect(client.exchangeToken(token, 'discovery')).rejects.toMatchObject({
      code: 'TOKEN_REVOKED',
    });
  });
});
