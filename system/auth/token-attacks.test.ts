import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../protocol/index.ts';
import { audienceFor } from '../protocol/index.ts';
import {
  type ManualClock,
  manualClock,
  startTestAuth,
  tempDir,
  testAdminCredential,
} from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';
import type { AuthService } from './auth-service.ts';
import { requireRole } from './require-role.ts';
import { createTokenVerifier, type TokenVerifierOptions } from './token-verifier.ts';

interface Genuine {
  token: string;
  kid: string;
  /** The issuer's public key, raw bytes as base64url (the JWK `x`). */
  x: string;
  payload: Record<string, unknown>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const attacker = generateKeyPairSync('ed25519').privateKey;

function signWith(
  header: { alg: string; kid?: string },
  payload: Record<string, unknown>,
  key: KeyObject | Uint8Array,
) {
  return new SignJWT(payload).setProtectedHeader({ typ: 'JWT', ...header }).sign(key);
}

/** Each row: a token an attacker (or a broken clock or config) could present, and the refusal. */
const attacks: {
  name: string;
  token: (genuine: Genuine) => string | Promise<string>;
  verifier?: (base: TokenVerifierOptions, clock: ManualClock) => Partial<TokenVerifierOptions>;
  code: ErrorCode;
}[] = [
  {
    name: 'a signature by another Ed25519 key under the real kid',
    token: (g) => signWith({ alg: 'EdDSA', kid: g.kid }, g.payload, attacker),
    code: 'TOKEN_INVALID',
  },
  {
    name: 'alg none with no signature',
    token: (g) => `${b64({ alg: 'none', kid: g.kid, typ: 'JWT' })}.${b64(g.payload)}.`,
    code: 'TOKEN_INVALID',
  },
  {
    name: 'HS256 keyed with the raw public key bytes',
    token: (g) => signWith({ alg: 'HS256', kid: g.kid }, g.payload, Buffer.from(g.x, 'base64url')),
    code: 'TOKEN_INVALID',
  },
  {
    name: 'HS256 keyed with the public key in PEM',
    token: (g) => {
      const pem = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: g.x }, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
      return signWith({ alg: 'HS256', kid: g.kid }, g.payload, Buffer.from(pem));
    },
    code: 'TOKEN_INVALID',
  },
  {
    name: 'a kid the issuer never published',
    token: (g) => signWith({ alg: 'EdDSA', kid: 'made-up-kid' }, g.payload, attacker),
    code: 'TOKEN_INVALID',
  },
  {
    name: 'no kid at all',
    token: (g) => signWith({ alg: 'EdDSA' }, g.payload, attacker),
    code: 'TOKEN_INVALID',
  },
  {
    name: 'a payload widened to every topic under the original signature',
    token: (g) => {
      const [header, , signature] = g.token.split('.');
      return `${header}.${b64({ ...g.payload, topics: { pub: ['#'], sub: ['#'] } })}.${signature}`;
    },
    code: 'TOKEN_INVALID',
  },
  {
    name: 'a token cut short',
    token: (g) => g.token.split('.').slice(0, 2).join('.'),
    code: 'TOKEN_INVALID',
  },
  { name: 'garbage', token: () => 'not-a-jwt', code: 'TOKEN_INVALID' },
  {
    name: 'an expired token, past the clock tolerance',
    token: (g) => g.token,
    verifier: (_base, clock) => ({ clock: shifted(clock, 600_000 + 5_000) }),
    code: 'TOKEN_EXPIRED',
  },
  {
    name: 'a token not valid yet, beyond the clock tolerance',
    token: (g) => g.token,
    verifier: (_base, clock) => ({ clock: shifted(clock, -6_000) }),
    code: 'TOKEN_NOT_YET_VALID',
  },
  {
    name: 'a token for another audience',
    token: (g) => g.token,
    verifier: () => ({ audience: 'someone-else' }),
    code: 'TOKEN_CLAIM_INVALID',
  },
  {
    name: 'a token from another issuer name',
    token: (g) => g.token,
    verifier: () => ({ issuer: 'someone-else' }),
    code: 'TOKEN_CLAIM_INVALID',
  },
];

function shifted(clock: ManualClock, byMs: number) {
  return { now: () => clock.now() + byMs };
}

describe('the token verifier refuses forged, tampered and out-of-date tokens', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let auth: AuthService;
  let genuine: Genuine;
  const clock = manualClock();
  let base: TokenVerifierOptions;

  beforeAll(async () => {
    dir = await tempDir();
    auth = await startTestAuth(dir.path, { clock });
    const client = createAuthClient({ url: auth.url });
    const credentials = await client.registerService(testAdminCredential, {
      role: 'broker',
      topics: { pub: ['a/#'], sub: [] },
    });
    const { token } = await client.issueToken(credentials);
    const { keys } = (await (await fetch(auth.jwksUrl)).json()) as { keys: { x: string }[] };
    genuine = {
      token,
      kid: decodeProtectedHeader(token).kid!,
      x: keys[0]!.x,
      payload: decodeJwt(token) as Record<string, unknown>,
    };
    base = {
      jwksUrl: auth.jwksUrl,
      issuer: auth.issuer,
      audience: audienceFor(auth.audience, 'auth'),
      clock,
    };
  });
  afterAll(async () => {
    await auth?.close();
    await dir?.[Symbol.asyncDispose]();
  });

  it('accepts the genuine token, also just inside the clock tolerance at both ends', async () => {
    for (const offset of [0, -5_000, 600_000 + 4_999]) {
      const verifier = createTokenVerifier({ ...base, clock: shifted(clock, offset) });
      await expect(verifier.verify(genuine.token)).resolves.toMatchObject({
        sub: expect.any(String),
      });
    }
  });

  it.each(attacks)('refuses $name with $code', async ({ token, verifier, code }) => {
    const subject = createTokenVerifier({ ...base, ...verifier?.(base, clock) });
    await expect(subject.verify(await token(genuine))).rejects.toMatchObject({ code });
  });

  it('refuses a valid token of the wrong role with ROLE_FORBIDDEN when the endpoint requires another', async () => {
    const claims = await createTokenVerifier(base).verify(genuine.token);
    expect(requireRole(claims, 'broker')).toBe(claims);
    expect(requireRole(claims, ['discovery', 'broker'])).toBe(claims);
    expect(() => requireRole(claims, 'discovery')).toThrow(
      expect.objectContaining({ code: 'ROLE_FORBIDDEN' }),
    );
  });
});
