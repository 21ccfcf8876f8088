import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { audienceFor } from '../protocol/index.ts';
import { manualClock, startTestAuth, tempDir, testAdminCredential } from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';
import { createTokenVerifier } from './token-verifier.ts';

async function publishedKids(jwksUrl: string): Promise<string[]> {
  const { keys } = (await (await fetch(jwksUrl)).json()) as { keys: { kid: string }[] };
  return keys.map((key) => key.kid);
}

describe('signing keys rotate without breaking tokens already issued', () => {
  it('old tokens verify after a rotation, new ones carry the new kid, and the old key retires once its tokens expired', async () => {
    await using dir = await tempDir();
    const clock = manualClock();
    const ttl = 60_000;
    const margin = 10_000;
    await using auth = await startTestAuth(dir.path, {
      clock,
      tokenTtlMs: ttl,
      keyRetireMarginMs: margin,
    });
    const client = createAuthClient({ url: auth.url });
    const credentials = await client.registerService(testAdminCredential, {
      role: 'broker',
      topics: { pub: [], sub: [] },
    });
    const verifier = createTokenVerifier({
      jwksUrl: auth.jwksUrl,
      issuer: auth.issuer,
      audience: audienceFor(auth.audience, 'auth'),
      clock,
      jwksCooldownMs: 0,
    });
    const before = await client.issueToken(credentials);
    const oldKid = decodeProtectedHeader(before.token).kid!;
    await verifier.verify(before.token);

    clock.advance(1_000);
    const { kid: newKid } = await client.rotateKey(testAdminCredential);
    expect(newKid).not.toBe(oldKid);
    expect(await publishedKids(auth.jwksUrl)).toEqual([oldKid, newKid]);

    const after = await client.issueToken(credentials);
    expect(decodeProtectedHeader(after.token).kid).toBe(newKid);
    expect((await verifier.verify(before.token)).sub).toBe(credentials.id);
    expect((await verifier.verify(after.token)).sub).toBe(credentials.id);

    // The last token the old key signed expires `ttl` after the rotation; the key stays a margin longer.
    clock.advance(ttl + margin - 1);
    expect(await publishedKids(auth.jwksUrl)).toEqual([oldKid, newKid]);
    clock.advance(2);
    expect(await publishedKids(auth.jwksUrl)).toEqual([newKid]);
  });

  it('a retired key stays gone after a restart, and the new key still signs', async () => {
    await using dir = await tempDir();
    const clock = manualClock();
    const options = { clock, tokenTtlMs: 5_000, keyRetireMarginMs: 0 };
    await using first = await startTestAuth(dir.path, options);
    const { kid } = await createAuthClient({ url: first.url }).rotateKey(testAdminCredential);
    await first.close();

    clock.advance(5_001);
    await using second = await startTestAuth(dir.path, options);
    expect(await publishedKids(second.jwksUrl)).toEqual([kid]);
  });
});
