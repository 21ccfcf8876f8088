import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { call, manualClock, startTestAuth, tempDir, testAdminCredential } from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';
import { createTokenVerifier } from './token-verifier.ts';

describe('the authentication service issues tokens to registered services', () => {
  it('a registered broker gets a token that the verifier accepts, carrying its identity and scopes', async () => {
    await using dir = await tempDir();
    const clock = manualClock();
    await using auth = await startTestAuth(dir.path, { clock, issuer: 'iss-a', audience: 'aud-a' });
    const client = createAuthClient({ url: auth.url });
    const topics = { pub: ['sensors/#'], sub: ['alerts/+', 'cmd/b1/#'] };

    const registered = await client.registerService(testAdminCredential, {
      id: 'b1',
      role: 'broker',
      topics,
    });
    expect(registered.id).toBe('b1');
    expect(registered.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const { token, expiresAt } = await client.issueToken(registered);
    expect(expiresAt).toBe(clock.now() + 600_000);
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: 'EdDSA', kid: expect.any(String), typ: 'JWT' });

    const verifier = createTokenVerifier({
      jwksUrl: auth.jwksUrl,
      issuer: 'iss-a',
      audience: 'aud-a:auth',
      clock,
    });
    const claims = await verifier.verify(token);
    const nowSec = clock.now() / 1000;
    expect(claims).toEqual({
      iss: 'iss-a',
      sub: 'b1',
      aud: 'aud-a:auth',
      iat: nowSec,
      nbf: nowSec,
      exp: nowSec + 600,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      role: 'broker',
      topics,
    });
    const again = await verifier.verify((await client.issueToken(registered)).token);
    expect(again.jti).not.toBe(claims.jti);
  });

  it('answers POST /token in the OAuth 2 shape with a configurable lifetime', async () => {
    await using dir = await tempDir();
    const clock = manualClock();
    await using auth = await startTestAuth(dir.path, { clock, tokenTtlMs: 90_000 });
    const client = createAuthClient({ url: auth.url });
    const credentials = await client.registerService(testAdminCredential, {
      role: 'discovery',
      topics: { pub: [], sub: [] },
    });
    expect(credentials.id).toMatch(/^discovery-[0-9a-f]{12}$/);

    const answer = await call(`${auth.url}/token`, { body: credentials });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      token: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 90,
      expiresAt: clock.now() + 90_000,
    });
  });

  it('publishes only public Ed25519 keys in the JWKS, with a short cache lifetime', async () => {
    await using dir = await tempDir();
    await using auth = await startTestAuth(dir.path);
    const answer = await call(auth.jwksUrl);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('public, max-age=60');
    expect(answer.body).toEqual({
      keys: [
        {
          kty: 'OKP',
          crv: 'Ed25519',
          x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
          kid: expect.any(String),
          alg: 'EdDSA',
          use: 'sig',
        },
      ],
    });
  });

  it('lists registrations without their secrets', async () => {
    await using dir = await tempDir();
    await using auth = await startTestAuth(dir.path);
    const client = createAuthClient({ url: auth.url });
    await client.registerService(testAdminCredential, {
      id: 'b2',
      role: 'broker',
      topics: { pub: ['a/#'], sub: [] },
    });
    await client.registerService(testAdminCredential, {
      id: 'd1',
      role: 'discovery',
      topics: { pub: [], sub: [] },
    });

    const listed = await client.listServices(testAdminCredential);
    expect(listed.map(({ id, role, topics }) => ({ id, role, topics }))).toEqual([
      { id: 'b2', role: 'broker', topics: { pub: ['a/#'], sub: [] } },
      { id: 'd1', role: 'discovery', topics: { pub: [], sub: [] } },
    ]);
    expect(JSON.stringify(listed)).not.toMatch(/"secret(Hash)?"|scrypt\$/);
  });

  it('counts token requests by outcome in /metrics', async () => {
    await using dir = await tempDir();
    await using auth = await startTestAuth(dir.path);
    const client = createAuthClient({ url: auth.url });
    const credentials = await client.registerService(testAdminCredential, {
      role: 'broker',
      topics: { pub: [], sub: [] },
    });
    await client.issueToken(credentials);
    await call(`${auth.url}/token`, { body: { id: credentials.id, secret: 'wrong' } });
    await call(`${auth.url}/token`, { body: '{' });

    const metrics = (await (await fetch(`${auth.url}/metrics`)).text()).split('\n');
    expect(metrics).toContain('mqfed_auth_token_requests_total{outcome="ok",service="auth"} 1');
    expect(metrics).toContain(
      'mqfed_auth_token_requests_total{outcome="refused",service="auth"} 1',
    );
    expect(metrics).toContain(
      'mqfed_auth_token_requests_total{outcome="bad_request",service="auth"} 1',
    );
    expect(metrics).toContain(
      'mqfed_http_errors_total{code="CLIENT_CREDENTIALS_INVALID",route="/token",service="auth"} 1',
    );
  });
});
