import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { audienceFor } from '../protocol/index.ts';
import { startTestAuth, type TempDir, tempDir } from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';
import type { AuthService } from './auth-service.ts';
import { createTokenVerifier } from './token-verifier.ts';

// Provisioning from secret files (issue 14): what `mqfed auth serve --provision` does at start.

const secretB1 = 'first-secret-of-b1-0123456789abcdef';
const secretB2 = 'first-secret-of-b2-0123456789abcdef';

interface Fixture {
  dataDir: string;
  manifest: string;
  writeSecret(name: string, content: string): Promise<string>;
  writeManifest(services: unknown): Promise<void>;
}

async function fixture(dir: TempDir): Promise<Fixture> {
  const manifest = join(dir.path, 'provision.json');
  return {
    dataDir: join(dir.path, 'auth'),
    manifest,
    async writeSecret(name, content) {
      const path = join(dir.path, name);
      await writeFile(path, content, { mode: 0o600 });
      return path;
    },
    async writeManifest(services) {
      await writeFile(manifest, JSON.stringify({ services }));
    },
  };
}

function verifierOf(auth: AuthService) {
  return createTokenVerifier({ ...auth, audience: audienceFor(auth.audience, 'auth') });
}

/** The error a start fails with, checked to be PROVISION_INVALID. */
async function refusal(start: Promise<AuthService>): Promise<Error> {
  const error = await start.then(
    async (auth) => {
      await auth.close();
      return new Error('the auth service started');
    },
    (reason: unknown) => reason as Error,
  );
  expect(error).toMatchObject({ code: 'PROVISION_INVALID' });
  return error;
}

/** A pino logger whose lines the test can read. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => lines.join('') };
}

describe('auth provisions the services a manifest names, with secrets read from files', () => {
  it('a provisioned broker obtains a token with its secret; the secret never reaches the log', async () => {
    await using dir = await tempDir();
    const f = await fixture(dir);
    // Written as `echo` would (one trailing newline) and as a relative path.
    await f.writeSecret('b1.secret', `${secretB1}\n`);
    await f.writeManifest([{ id: 'b1', role: 'broker', secretFile: 'b1.secret' }]);
    const log = capturingLogger();

    await using auth = await startTestAuth(f.dataDir, {
      provisionFile: f.manifest,
      logger: log.logger,
    });
    const client = createAuthClient({ url: auth.url });
    const { token } = await client.issueToken({ id: 'b1', secret: secretB1 });
    const claims = await verifierOf(auth).verify(token);
    expect([claims.sub, claims.role]).toEqual(['b1', 'broker']);
    // A broker without `topics` may offer and consume everything, as register-brokers.ts does.
    expect(claims.topics).toEqual({ pub: ['#'], sub: ['#'] });
    expect(log.text()).toContain('service provisioned');
    expect(log.text()).not.toContain(secretB1);
  });

  it('a restart with the same manifest keeps secrets and tokens working and changes nothing', async () => {
    await using dir = await tempDir();
    const f = await fixture(dir);
    const path = await f.writeSecret('b1.secret', secretB1);
    await f.writeManifest([
      { id: 'b1', role: 'broker', topics: { pub: ['a/#'], sub: ['b/#'] }, secretFile: path },
    ]);

    let token: string;
    let before: unknown;
    {
      await using first = await startTestAuth(f.dataDir, { provisionFile: f.manifest });
      token = (
        await createAuthClient({ url: first.url }).exchangeToken(
          (
            await createAuthClient({ url: first.url }).issueToken({ id: 'b1', secret: secretB1 })
          ).token,
          'discovery',
        )
      ).token;
      before = await createAuthClient({ url: first.url }).listServices(first.adminCredential);
    }
    const log = capturingLogger();
    await using second = await startTestAuth(f.dataDir, {
      provisionFile: f.manifest,
      logger: log.logger,
    });
    const client = createAuthClient({ url: second.url });
    // Same registration, same rotation time: the secret hash was kept, not redone.
    expect(await client.listServices(second.adminCredential)).toEqual(before);
    expect(log.text()).toMatch(/"unchanged":\["b1"\]/);
    const fresh = await client.issueToken({ id: 'b1', secret: secretB1 });
    expect((await verifierOf(second).verify(fresh.token)).topics).toEqual({
      pub: ['a/#'],
      sub: ['b/#'],
    });
    // A token issued before the restart is not revoked by it.
    const discoveryVerifier = createTokenVerifier({
      ...second,
      audience: audienceFor(second.audience, 'discovery'),
    });
    expect((await discoveryVerifier.verify(token)).sub).toBe('b1');
    const { entries } = (await (
      await fetch(`${second.url}/admin/revocations`, {
        headers: { authorization: `Bearer ${second.adminCredential}` },
      })
    ).json()) as { entries: unknown[] };
    expect(entries).toEqual([]);
  });

  it('a changed secret file replaces the old secret: the old one and its tokens are refused', async () => {
    await using dir = await tempDir();
    const f = await fixture(dir);
    const path = await f.writeSecret('b1.secret', secretB1);
    await f.writeManifest([{ id: 'b1', role: 'broker', secretFile: path }]);
    let oldToken: string;
    {
      await using first = await startTestAuth(f.dataDir, { provisionFile: f.manifest });
      oldToken = (
        await createAuthClient({ url: first.url }).issueToken({ id: 'b1', secret: secretB1 })
      ).token;
    }

    const renewed = 'the-replacement-secret-of-b1-9876543210';
    await f.writeSecret('b1.secret', `${renewed}\n`);
    await using second = await startTestAuth(f.dataDir, { provisionFile: f.manifest });
    const client = createAuthClient({ url: second.url });
    await expect(client.issueToken({ id: 'b1', secret: secretB1 })).rejects.toMatchObject({
      code: 'CLIENT_CREDENTIALS_INVALID',
    });
    await expect(client.exchangeToken(oldToken, 'discovery')).rejects.toMatchObject({
      code: 'TOKEN_REVOKED',
    });
    // The new secret works at once: the start waited until its tokens postdate the revocation.
    const { token } = await client.issueToken({ id: 'b1', secret: renewed });
    await expect(client.exchangeToken(token, 'discovery')).resolves.toHaveProperty('token');
  });

  it('sets role and scopes of the ids it names and leaves every other registration alone', async () => {
    await using dir = await tempDir();
    const f = await fixture(dir);
    const b1 = await f.writeSecret('b1.secret', secretB1);
    const b2 = await f.writeSecret('b2.secret', secretB2);
    let other: { id: string; secret: string };
    {
      await using first = await startTestAuth(f.dataDir);
      const admin = createAuthClient({ url: first.url });
      other = await admin.registerService(first.adminCredential, {
        id: 'b9',
        role: 'broker',
        topics: { pub: ['x/#'], sub: [] },
      });
      // b1 registered by hand first, with a generated secret and other scopes.
      await admin.registerService(first.adminCredential, {
        id: 'b1',
        role: 'client',
        topics: { pub: [], sub: ['y/#'] },
      });
    }
    await f.writeManifest([
      { id: 'b1', role: 'broker', topics: { pub: ['a/#'] }, secretFile: b1 },
      { id: 'b2', role: 'discovery', secretFile: b2 },
    ]);
    await using auth = await startTestAuth(f.dataDir, { provisionFile: f.manifest });
    const client = createAuthClient({ url: auth.url });
    const listed = await client.listServices(auth.adminCredential);
    expect(listed.map(({ id, role, topics }) => ({ id, role, topics }))).toEqual([
      // A side `topics` leaves out is empty, as in the admin API.
      { id: 'b1', role: 'broker', topics: { pub: ['a/#'], sub: [] } },
      // Without `topics`, a role other than broker gets no scopes.
      { id: 'b2', role: 'discovery', topics: { pub: [], sub: [] } },
      { id: 'b9', role: 'broker', topics: { pub: ['x/#'], sub: [] } },
    ]);
    const verifier = verifierOf(auth);
    const b1Claims = await verifier.verify(
      (await client.issueToken({ id: 'b1', secret: secretB1 })).token,
    );
    expect([b1Claims.role, b1Claims.topics]).toEqual(['broker', { pub: ['a/#'], sub: [] }]);
    expect((await verifier.verify((await client.issueToken(other)).token)).sub).toBe('b9');
  });
});

describe('auth refuses to start on a bad manifest or secret, and changes nothing', () => {
  const good = { id: 'b1', role: 'broker', secretFile: 'b1.secret' };
  it.each<[string, unknown, string | undefined, RegExp]>([
    ['not JSON', '{"services": [', undefined, /not JSON/],
    ['no services array', { brokers: [] }, undefined, /expected \{"services"/],
    ['an unknown key', [{ ...good, secretfile: 'x' }], undefined, /unknown key "secretfile"/],
    ['an unknown role', [{ ...good, role: 'admin' }], undefined, /role/],
    ['a bad topic filter', [{ ...good, topics: { pub: ['a/#/b'] } }], undefined, /topics\.pub/],
    ['a bad id', [{ ...good, id: '../b1' }], undefined, /id/],
    ['a duplicate id', [good, good], undefined, /appears twice/],
    ['a missing secret file', [{ ...good, secretFile: 'none.secret' }], undefined, /ENOENT/],
    ['a short secret', [good], 'short-secret\n', /12 bytes; at least 16/],
    ['two trailing newlines', [good], `${secretB1}\n\n`, /visible ASCII at offset 35/],
    ['a long secret', [good], 'x'.repeat(1025), /longer than 1024/],
    ['a secret with a space', [good], 'a secret with spaces in it', /visible ASCII at offset 1/],
    ['a secret not ASCII', [good], 'geheimnis-ü-0123456789', /visible ASCII/],
  ])('%s: PROVISION_INVALID', async (_name, services, secret, message) => {
    await using dir = await tempDir();
    const f = await fixture(dir);
    await f.writeSecret('b1.secret', secret ?? secretB1);
    if (typeof services === 'string') await writeFile(f.manifest, services);
    else if (Array.isArray(services)) await f.writeManifest(services);
    else await writeFile(f.manifest, JSON.stringify(services));
    const error = await refusal(startTestAuth(f.dataDir, { provisionFile: f.manifest }));
    expect(error.message).toMatch(message);
    // The secret never appears in the message.
    expect(error.message).not.toContain(secret ?? secretB1);
  });

  it('refuses a missing manifest, and an unreadable secret, before registering anything', async () => {
    await using dir = await tempDir();
    const f = await fixture(dir);
    const missing = await refusal(
      startTestAuth(f.dataDir, { provisionFile: join(dir.path, 'absent.json') }),
    );
    expect(missing.message).toMatch(/absent\.json \(ENOENT\)/);

    // The first entry is fine, the second's file is a folder: b1 is not registered either.
    await f.writeSecret('b1.secret', secretB1);
    await f.writeManifest([
      { id: 'b1', role: 'broker', secretFile: 'b1.secret' },
      { id: 'b2', role: 'broker', secretFile: '.' },
    ]);
    const folder = await refusal(startTestAuth(f.dataDir, { provisionFile: f.manifest }));
    expect(folder.message).toMatch(/b2.*not a regular file/);
    await using auth = await startTestAuth(f.dataDir);
    expect(await createAuthClient({ url: auth.url }).listServices(auth.adminCredential)).toEqual(
      [],
    );
  });
});
