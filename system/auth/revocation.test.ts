import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { audienceFor, MqfedError, type RevocationEntry } from '../protocol/index.ts';
import {
  call,
  manualClock,
  startTestAuth,
  type TempDir,
  tempDir,
  testAdminCredential,
} from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';
import type { AuthService } from './auth-service.ts';
import { openAuthStore } from './auth-store.ts';
import { createRevocationList } from './revocation-list.ts';
import { withRevocations } from './revocation-verifier.ts';
import { createRevocationWatch, type RevocationWatch } from './revocation-watch.ts';
import type { ServiceCredentials } from './service-registry.ts';
import { createTokenVerifier, type TokenVerifier } from './token-verifier.ts';

/** The next entry `watch` tells of that satisfies `predicate`. */
function nextEntry(
  watch: RevocationWatch,
  predicate: (entry: RevocationEntry) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<RevocationEntry> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no revocation entry within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = watch.onEntry((entry) => {
      if (!predicate(entry)) return;
      clearTimeout(timer);
      stop();
      resolve(entry);
    });
  });
}

/** Opens a WebSocket to `url` expecting a refusal: its HTTP status and error code. */
function refusedUpgrade(url: string): Promise<{ status: number; body: { code?: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => {});
    ws.on('unexpected-response', (request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        request.destroy();
        resolve({
          status: response.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        });
      });
    });
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MqfedError) return error.code;
    throw error;
  }
  return 'RESOLVED';
}

describe('pushed revocation', () => {
  let dir: TempDir;
  let auth: AuthService;
  let watch: RevocationWatch;
  let verifier: TokenVerifier;
  const client = () => createAuthClient({ url: auth.url });
  const register = (id: string) =>
    client().registerService(testAdminCredential, {
      id,
      role: 'broker',
      topics: { pub: ['#'], sub: ['#'] },
    });
  const tokenFor = async (credentials: ServiceCredentials) =>
    (await client().issueToken(credentials, 'discovery')).token;

  beforeAll(async () => {
    dir = await tempDir('mqfed-revocation-');
    auth = await startTestAuth(dir.path);
    watch = createRevocationWatch({ url: auth.revocationFeedUrl, reconnectBaseMs: 200 });
    await watch.ready;
    verifier = withRevocations(
      createTokenVerifier({
        jwksUrl: auth.jwksUrl,
        issuer: auth.issuer,
        audience: audienceFor(auth.audience, 'discovery'),
      }),
      watch,
    );
  });
  afterAll(async () => {
    watch?.close();
    await auth?.close();
    await dir?.[Symbol.asyncDispose]();
  });

  it('refuses a token revoked by its jti at once, and a fresh token of the same service still verifies', async () => {
    const credentials = await register('jti-holder');
    const revoked = await tokenFor(credentials);
    const fresh = await tokenFor(credentials);
    expect((await verifier.verify(revoked)).sub).toBe('jti-holder');

    const { jti, exp } = decodeJwt(revoked);
    const arrived = nextEntry(watch, (entry) => entry.kind === 'token' && entry.jti === jti);
    const entry = await client().revokeToken(testAdminCredential, jti!, exp);
    expect(entry).toMatchObject({ kind: 'token', jti });
    await arrived;

    expect(await codeOf(verifier.verify(revoked))).toBe('TOKEN_REVOKED');
    expect((await verifier.verify(fresh)).sub).toBe('jti-holder');
  });

  it('refuses a token exchange with a revoked auth token', async () => {
    const credentials = await register('exchanger');
    const { token } = await client().issueToken(credentials, 'auth');
    expect((await client().exchangeToken(token, 'discovery')).token).toBeTypeOf('string');

    await client().revokeToken(testAdminCredential, decodeJwt(token).jti!);
    expect(await codeOf(client().exchangeToken(token, 'discovery'))).toBe('TOKEN_REVOKED');
  });

  it('refuses every token issued before a secret rotation; tokens from the new secret verify', async () => {
    const credentials = await register('rotated');
    const old = await tokenFor(credentials);
    const arrived = nextEntry(
      watch,
      (entry) => entry.kind === 'subject' && entry.sub === 'rotated',
    );
    const rotated = await client().rotateSecret(testAdminCredential, 'rotated');
    expect(await arrived).toMatchObject({ kind: 'subject', reason: 'secret-rotated' });

    expect(await codeOf(verifier.verify(old))).toBe('TOKEN_REVOKED');
    expect(await codeOf(tokenFor(credentials))).toBe('CLIENT_CREDENTIALS_INVALID');
    // The new secret is handed out only once its tokens are dated after the revocation.
    expect((await verifier.verify(await tokenFor(rotated))).sub).toBe('rotated');
  });

  it('refuses the tokens of a revoked service, and lists the entries for the operator', async () => {
    const credentials = await register('revoked');
    const token = await tokenFor(credentials);
    const arrived = nextEntry(
      watch,
      (entry) => entry.kind === 'subject' && entry.sub === 'revoked',
    );
    await client().revokeService(testAdminCredential, 'revoked');
    await arrived;
    expect(await codeOf(verifier.verify(token))).toBe('TOKEN_REVOKED');

    const listed = await client().listRevocations(testAdminCredential);
    expect(listed.some((entry) => entry.kind === 'subject' && entry.sub === 'revoked')).toBe(true);
    const anonymous = await call(`${auth.url}/admin/revocations`);
    expect(anonymous.status).toBe(401);
  });

  it('tells after a reconnect the entries made while the feed was away', async () => {
    const away = createRevocationWatch({
      url: auth.revocationFeedUrl,
      // A fixed 300 ms before redialing: the revocation below lands while the feed is away.
      reconnectBaseMs: 300,
      random: () => 1,
    });
    try {
      await away.ready;
      const credentials = await register('while-away');
      const token = await tokenFor(credentials);
      const { jti } = decodeJwt(token);
      const arrived = nextEntry(away, (entry) => entry.kind === 'token' && entry.jti === jti);

      away.disconnect();
      expect(away.connected).toBe(false);
      await client().revokeToken(testAdminCredential, jti!);
      expect(away.connected).toBe(false);

      await arrived;
      expect(away.connected).toBe(true);
      expect(away.isRevoked(decodeJwt(token) as never)).toBe(true);
    } finally {
      away.close();
    }
  });

  it('takes a jti, and an exp in epoch seconds, and nothing else', async () => {
    const bad = await call(`${auth.url}/admin/revocations`, {
      method: 'POST',
      bearer: testAdminCredential,
      body: { jti: 'x', exp: 'tomorrow' },
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_REQUEST']);
  });
});

describe('a revocation watch across auth service restarts', () => {
  it('follows an auth service restarted on a fresh database, whose entries number from 1 again', async () => {
    await using first = await tempDir('mqfed-revocation-first-');
    await using second = await tempDir('mqfed-revocation-second-');
    const before = await startTestAuth(first.path);
    const port = Number(new URL(before.url).port);
    const watch = createRevocationWatch({ url: before.revocationFeedUrl, reconnectBaseMs: 50 });
    try {
      await watch.ready;
      const told = nextEntry(watch, (entry) => entry.kind === 'token' && entry.jti === 'old');
      await createAuthClient({ url: before.url }).revokeToken(testAdminCredential, 'old');
      expect((await told).seq).toBe(1);
      await before.close();

      const after = await startTestAuth(second.path, { port });
      try {
        const again = nextEntry(watch, (entry) => entry.kind === 'token' && entry.jti === 'new');
        const made = await createAuthClient({ url: after.url }).revokeToken(
          testAdminCredential,
          'new',
        );
        expect(made.seq).toBe(1);
        expect(await again).toEqual(made);
        expect(watch.isRevoked({ sub: 'any', iat: 0, jti: 'new' })).toBe(true);
      } finally {
        await after.close();
      }
    } finally {
      watch.close();
    }
  });
});

describe('the revocation list', () => {
  it('drops entries once every token they name has expired, and keeps the others across a restart', async () => {
    await using dir = await tempDir('mqfed-revocation-list-');
    const clock = manualClock();
    const path = join(dir.path, 'auth.sqlite');
    const store = openAuthStore(path);
    const list = createRevocationList({ store, clock, retainMs: 60_000, tokenTtlMs: 600_000 });
    const now = clock.now() / 1000;
    list.revokeToken('short', now + 10);
    list.revokeToken('long');
    list.revokeSubject('svc', 'revoked');
    expect(list.entries().map((entry) => entry.seq)).toEqual([1, 2, 3]);

    clock.advance(10_000 + 60_000);
    expect(list.entries().map((entry) => (entry.kind === 'token' ? entry.jti : entry.sub))).toEqual(
      ['long', 'svc'],
    );
    list.close();
    store.close();

    const reopened = openAuthStore(path);
    const again = createRevocationList({
      store: reopened,
      clock,
      retainMs: 60_000,
      tokenTtlMs: 600_000,
    });
    expect(again.isRevoked({ sub: 'svc', iat: now - 1, jti: 'other' })).toBe(true);
    // seq keeps growing after a prune and a restart: a feed client's "after seq N" holds.
    expect(again.revokeToken('next').seq).toBe(4);
    clock.advance(660_000);
    expect(again.entries().map((entry) => entry.seq)).toEqual([]);
    again.close();
    reopened.close();
  });
});

describe('the revocation feed', () => {
  it('bounds its subscribers', async () => {
    await using dir = await tempDir('mqfed-revocation-cap-');
    const auth = await startTestAuth(dir.path, { maxRevocationFeedSockets: 1 });
    const first = createRevocationWatch({ url: auth.revocationFeedUrl });
    try {
      await first.ready;
      const refused = await refusedUpgrade(auth.revocationFeedUrl);
      expect([refused.status, refused.body.code]).toEqual([429, 'RATE_LIMITED']);
    } finally {
      first.close();
      await auth.close();
    }
  });

  it('is redialed when it falls silent for three heartbeats', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    let connections = 0;
    // A feed that sends its snapshot and then never pings: dead, as far as the client can tell.
    server.on('connection', (ws) => {
      connections += 1;
      ws.send(JSON.stringify({ type: 'snapshot', heartbeatMs: 40, entries: [] }));
    });
    const { port } = server.address() as AddressInfo;
    const silent = createRevocationWatch({
      url: `ws://127.0.0.1:${port}/revocations`,
      reconnectBaseMs: 10,
      reconnectMaxMs: 20,
    });
    try {
      await silent.ready;
      await new Promise<void>((resolve) => {
        server.on('connection', () => {
          if (connections >= 2) resolve();
        });
      });
      expect(connections).toBeGreaterThanOrEqual(2);
    } finally {
      silent.close();
      for (const ws of server.clients) ws.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
