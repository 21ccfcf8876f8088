import { describe, expect, it } from 'vitest';
import { constantTimeEqual, generateSecret, hashSecret, verifySecret } from './secret-hash.ts';

describe('client secrets are stored as salted scrypt hashes', () => {
  it('a hash verifies its own secret only, and the same secret hashes differently each time', async () => {
    const secret = generateSecret();
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    const first = await hashSecret(secret);
    const second = await hashSecret(secret);
    expect(first).toMatch(/^scrypt\$14\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain(secret);
    expect(await verifySecret(secret, first)).toBe(true);
    expect(await verifySecret(secret, second)).toBe(true);
    expect(await verifySecret(`${secret}x`, first)).toBe(false);
    expect(await verifySecret(secret, 'bcrypt$whatever')).toBe(false);
  });

  it('compares admin credentials of any lengths without throwing', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', 'abc')).toBe(false);
  });
});
