import { describe, expect, it } from 'vitest';
import { call, startTestAuth, tempDir, testAdminCredential } from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';

describe('an operator rotates and revokes service secrets', () => {
  it('after a secret rotation the old secret is refused and the new one works', async () => {
    await using dir = await tempDir();
    await using auth = await startTestAuth(dir.path);
    const client = createAuthClient({ url: auth.url });
    const old = await client.registerService(testAdminCredential, {
      id: 'b1',
      role: 'broker',
      topics: { pub: [], sub: [] },
    });

    const rotated = await client.rotateSecret(testAdminCredential, 'b1');
    expect(rotated.id).toBe('b1');
    expect(rotated.secret).not.toBe(old.secret);
    await expect(client.issueToken(old)).rejects.toMatchObject({
      code: 'CLIENT_CREDENTIALS_INVALID',
    });
    await expect(client.issueToken(rotated)).resolves.toMatchObject({ token: expect.any(String) });
  });

  it('a revoked service can no longer obtain tokens, and its id may be registered afresh', async () => {
    await using dir = await tempDir();
    await using auth = await startTestAuth(dir.path);
    const client = createAuthClient({ url: auth.url });
    const revoked = await client.registerService(testAdminCredential, {
      id: 'b1',
      role: 'broker',
      topics: { pub: ['a/#'], sub: [] },
    });
    await client.issueToken(revoked);

    const answer = await call(`${auth.url}/admin/services/b1`, {
      method: 'DELETE',
      bearer: testAdminCredential,
    });
    expect([answer.status, answer.body]).toEqual([200, { id: 'b1', revoked: true }]);
    await expect(client.issueToken(revoked)).rejects.toMatchObject({
      code: 'CLIENT_CREDENTIALS_INVALID',
    });
    await expect(client.revokeService(testAdminCredential, 'b1')).rejects.toMatchObject({
      code: 'SERVICE_NOT_FOUND',
    });
    await expect(client.rotateSecret(testAdminCredential, 'b1')).rejects.toMatchObject({
      code: 'SERVICE_NOT_FOUND',
    });
    expect(await client.listServices(testAdminCredential)).toEqual([]);

    const again = await client.registerService(testAdminCredential, {
      id: 'b1',
      role: 'discovery',
      topics: { pub: [], sub: [] },
    });
    await expect(client.issueToken(revoked)).rejects.toMatchObject({
      code: 'CLIENT_CREDENTIALS_INVALID',
    });
    await expect(client.issueToken(again)).resolves.toMatchObject({ token: expect.any(String) });
  });

  it('the longest id registration accepts can still be rotated and revoked by URL', async () => {
    await using dir = await tempDir();
    await using auth = await startTestAuth(dir.path);
    const client = createAuthClient({ url: auth.url });
    const id = `b${'x'.repeat(127)}`;
    await client.registerService(testAdminCredential, {
      id,
      role: 'broker',
      topics: { pub: [], sub: [] },
    });
    await expect(client.rotateSecret(testAdminCredential, id)).resolves.toMatchObject({ id });
    await expect(client.revokeService(testAdminCredential, id)).resolves.toBeUndefined();
  });
});
