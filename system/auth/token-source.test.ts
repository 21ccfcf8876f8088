import { describe, expect, it } from 'vitest';
import { manualClock, startTestAuth, tempDir, testAdminCredential } from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';
import type { AuthService } from './auth-service.ts';
import { createTokenWallet } from './token-wallet.ts';

const ttl = 100_000;

async function issuedCount(auth: AuthService): Promise<number> {
  const text = await (await fetch(`${auth.url}/metrics`)).text();
  const match = /^mqfed_auth_token_requests_total\{outcome="ok",service="auth"\} (\d+)$/m.exec(
    text,
  );
  return Number(match?.[1] ?? 0);
}

async function setUp(dataDir: string) {
  const clock = manualClock();
  const auth = await startTestAuth(dataDir, { clock, tokenTtlMs: ttl });
  const credentials = await createAuthClient({ url: auth.url }).registerService(
    testAdminCredential,
    {
      id: 'b1',
      role: 'broker',
      topics: { pub: [], sub: [] },
    },
  );
  return { clock, auth, credentials };
}

describe('a token source keeps a fresh token for its service', () => {
  it('fetches on first use and hands out the same token until 80% of its lifetime has passed', async () => {
    await using dir = await tempDir();
    const { clock, auth, credentials } = await setUp(dir.path);
    await using _auth = auth;
    const source = createTokenWallet({ authUrl: auth.url, ...credentials, clock }).source('auth');

    const first = await source.current();
    clock.advance(ttl * 0.8 - 1);
    expect(await source.current()).toBe(first);
    expect(await issuedCount(auth)).toBe(1);

    clock.advance(1);
    // Inside the refresh window the held token is handed out at once while a new one is fetched.
    expect(await source.current()).toBe(first);
    const second = await source.refresh();
    expect(second).not.toBe(first);
    expect(await source.current()).toBe(second);
    expect(await issuedCount(auth)).toBe(2);
    source.close();
  });

  it('honours another refresh ratio', async () => {
    await using dir = await tempDir();
    const { clock, auth, credentials } = await setUp(dir.path);
    await using _auth = auth;
    const source = createTokenWallet({
      authUrl: auth.url,
      ...credentials,
      clock,
      refreshAheadRatio: 0.5,
    }).source('auth');
    const first = await source.current();
    clock.advance(ttl * 0.5);
    await source.current();
    expect(await source.refresh()).not.toBe(first);
    expect(await issuedCount(auth)).toBe(2);
  });

  it('rides out an auth service outage on the held token, and fails once that token is spent', async () => {
    await using dir = await tempDir();
    const { clock, auth, credentials } = await setUp(dir.path);
    await using _auth = auth;
    const source = createTokenWallet({
      authUrl: auth.url,
      ...credentials,
      clock,
      retryDelaysMs: [1],
    }).source('auth');
    const held = await source.current();
    await auth.close();

    clock.advance(ttl * 0.9);
    expect(await source.current()).toBe(held);
    clock.advance(ttl * 0.1);
    await expect(source.current()).rejects.toThrow();
  });

  it('retries until the auth service answers', async () => {
    await using dir = await tempDir();
    const { clock, auth, credentials } = await setUp(dir.path);
    await using _auth = auth;
    const port = Number(new URL(auth.url).port);
    await auth.close();
    const source = createTokenWallet({
      authUrl: auth.url,
      ...credentials,
      clock,
      retryDelaysMs: Array.from({ length: 40 }, () => 100),
    }).source('auth');

    const token = source.current();
    await using _restarted = await startTestAuth(dir.path, { clock, tokenTtlMs: ttl, port });
    await expect(token).resolves.toMatch(/^ey/);
  });

  it('does not retry credentials the service refused, and refuses to work once closed', async () => {
    await using dir = await tempDir();
    const { auth } = await setUp(dir.path);
    await using _auth = auth;
    const wrong = createTokenWallet({
      authUrl: auth.url,
      id: 'b1',
      secret: 'wrong',
      retryDelaysMs: [60_000],
    }).source('auth');
    await expect(wrong.current()).rejects.toMatchObject({ code: 'CLIENT_CREDENTIALS_INVALID' });
    wrong.close();
    await expect(wrong.current()).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(wrong.refresh()).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
