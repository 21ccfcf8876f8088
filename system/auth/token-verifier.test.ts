import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { audienceFor } from '../protocol/index.ts';
import { manualClock, startTestAuth, tempDir, testAdminCredential } from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';
import { createTokenVerifier } from './token-verifier.ts';

/** Counts the JWKS fetches a verifier makes. */
function countingFetch() {
  const counter = {
    calls: 0,
    fetch: ((input: string | URL | Request, init?: RequestInit) => {
      counter.calls += 1;
      return fetch(input, init);
    }) as typeof fetch,
  };
  return counter;
}

async function startIssuerWithBroker(dataDir: string, clock = manualClock()) {
  const auth = await startTestAuth(dataDir, { clock });
  const client = createAuthClient({ url: auth.url });
  const credentials = await client.registerService(testAdminCredential, {
    role: 'broker',
    topics: { pub: [], sub: [] },
  });
  return { auth, client, credentials, clock };
}

describe('the token verifier caches the issuer keys', () => {
  it('keeps verifying from its cache while the auth service is down, long past the cache age', async () => {
    await using dir = await tempDir();
    const { auth, client, credentials, clock } = await startIssuerWithBroker(dir.path);
    await using _auth = auth;
    const { token } = await client.issueToken(credentials);
    const verifier = createTokenVerifier({
      ...auth,
      audience: audienceFor(auth.audience, 'auth'),
      clock,
      jwksMaxAgeMs: 60_000,
      jwksCooldownMs: 1_000,
    });
    await verifier.verify(token);
    await auth.close();

    clock.advance(120_000);
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: credentials.id });
    // An unknown kid makes it try the issuer, which fails; the cached keys survive that too.
    const stranger = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: 'rotated-meanwhile', typ: 'JWT' })
      .sign(generateKeyPairSync('ed25519').privateKey);
    clock.advance(1_000);
    await expect(verifier.verify(stranger)).rejects.toMatchObject({ code: 'KEYS_UNAVAILABLE' });
    clock.advance(300_000);
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: credentials.id });
  });

  it('fetches the key set again for the kid of a rotated key, once the cooldown allows', async () => {
    await using dir = await tempDir();
    const { auth, client, credentials, clock } = await startIssuerWithBroker(dir.path);
    await using _auth = auth;
    const counter = countingFetch();
    const verifier = createTokenVerifier({
      ...auth,
      audience: audienceFor(auth.audience, 'auth'),
      clock,
      jwksCooldownMs: 10_000,
      fetch: counter.fetch,
    });
    await verifier.verify((await client.issueToken(credentials)).token);
    expect(counter.calls).toBe(1);

    await client.rotateKey(testAdminCredential);
    const rotated = (await client.issueToken(credentials)).token;
    // Within the cooldown of the last fetch the new kid is unknown and not worth a fetch.
    await expect(verifier.verify(rotated)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    expect(counter.calls).toBe(1);

    clock.advance(10_000);
    await expect(verifier.verify(rotated)).resolves.toMatchObject({ sub: credentials.id });
    expect(counter.calls).toBe(2);
  });

  it('fetches at most once per cooldown however many unknown kids are sprayed at it', async () => {
    await using dir = await tempDir();
    const { auth, client, credentials, clock } = await startIssuerWithBroker(dir.path);
    await using _auth = auth;
    const counter = countingFetch();
    const verifier = createTokenVerifier({
      ...auth,
      audience: audienceFor(auth.audience, 'auth'),
      clock,
      fetch: counter.fetch,
    });
    await verifier.verify((await client.issueToken(credentials)).token);
    const attacker = generateKeyPairSync('ed25519').privateKey;
    const spray = () =>
      Promise.all(
        Array.from({ length: 25 }, async (_, i) => {
          const token = await new SignJWT({})
            .setProtectedHeader({ alg: 'EdDSA', kid: `kid-${i}`, typ: 'JWT' })
            .sign(attacker);
          return verifier.verify(token).catch((error: { code: string }) => error.code);
        }),
      );

    clock.advance(10_000);
    expect(new Set(await spray())).toEqual(new Set(['TOKEN_INVALID']));
    expect(await spray()).toHaveLength(25);
    expect(counter.calls).toBe(2);
  });

  it('answers KEYS_UNAVAILABLE when the issuer cannot be reached and nothing is cached', async () => {
    await using dir = await tempDir();
    const { auth, client, credentials } = await startIssuerWithBroker(dir.path);
    await using _auth = auth;
    const { token } = await client.issueToken(credentials);
    await auth.close();
    const verifier = createTokenVerifier({
      ...auth,
      audience: audienceFor(auth.audience, 'auth'),
      jwksTimeoutMs: 1_000,
    });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'KEYS_UNAVAILABLE' });
  });
});

describe('the token verifier checks the claims against the mqfed schema', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' };
  const jwksFetch = (keys: object[]) => (async () => Response.json({ keys })) as typeof fetch;
  const now = Math.floor(Date.now() / 1000);
  const valid = {
    iss: 'iss',
    sub: 'b1',
    aud: 'aud',
    iat: now,
    nbf: now,
    exp: now + 60,
    jti: 'j1',
    role: 'broker',
    topics: { pub: ['a/#'], sub: [] },
  };
  const sign = (payload: object, header: object = {}) =>
    new SignJWT({ ...payload })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'JWT', ...header })
      .sign(privateKey);
  const verifier = createTokenVerifier({
    jwksUrl: 'http://issuer.invalid/jwks',
    issuer: 'iss',
    audience: 'aud',
    fetch: jwksFetch([jwk]),
  });

  it('accepts a token with every claim in place', async () => {
    await expect(verifier.verify(await sign(valid))).resolves.toEqual(valid);
  });

  const { jti: _jti, ...withoutJti } = valid;
  const { topics: _topics, ...withoutTopics } = valid;
  const { exp: _exp, ...withoutExp } = valid;
  it.each([
    ['a role that is not a service role', { ...valid, role: 'admin' }, 'TOKEN_CLAIM_INVALID'],
    ['no topic scopes', withoutTopics, 'TOKEN_CLAIM_INVALID'],
    [
      'an invalid topic filter in a scope',
      { ...valid, topics: { pub: ['a/#/b'], sub: [] } },
      'TOKEN_CLAIM_INVALID',
    ],
    ['no jti', withoutJti, 'TOKEN_CLAIM_INVALID'],
    ['no expiry', withoutExp, 'TOKEN_CLAIM_INVALID'],
    ['a fractional expiry', { ...valid, exp: now + 60.5 }, 'TOKEN_CLAIM_INVALID'],
  ])('refuses %s with %s', async (_case, payload, code) => {
    await expect(verifier.verify(await sign(payload))).rejects.toMatchObject({ code });
  });

  it('refuses a token whose typ header is not JWT', async () => {
    await expect(verifier.verify(await sign(valid, { typ: 'at+jwt' }))).rejects.toMatchObject({
      code: 'TOKEN_INVALID',
    });
  });

  it('ignores a published key that is not an Ed25519 public signing key', async () => {
    for (const bad of [
      { ...privateKey.export({ format: 'jwk' }), kid: 'k1' },
      { ...jwk, use: 'enc' },
      { ...jwk, alg: 'ES256' },
    ]) {
      const strict = createTokenVerifier({
        jwksUrl: 'http://issuer.invalid/jwks',
        issuer: 'iss',
        audience: 'aud',
        fetch: jwksFetch([bad]),
      });
      await expect(strict.verify(await sign(valid))).rejects.toMatchObject({
        code: 'TOKEN_INVALID',
      });
    }
  });
});
