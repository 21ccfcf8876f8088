import { createHash, randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Client secrets are stored only as slow salted hashes, so a copy of the database does not hand
 * out working credentials. scrypt is in node:crypto and memory-hard. [design]
 *
 * A stored hash is self-describing, `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url), so the
 * cost can be raised later without invalidating secrets already issued.
 */
const cost = { log2N: 14, r: 8, p: 1 } as const;
const keyLength = 32;
const saltLength = 16;

/** A new client secret: 32 random bytes (256 bits), base64url. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(saltLength);
  const hash = await derive(secret, salt, cost.log2N, cost.r, cost.p);
  return [
    'scrypt',
    cost.log2N,
    cost.r,
    cost.p,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

/** Compares in constant time; a malformed stored hash simply does not match. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, log2N, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(
    secret,
    Buffer.from(salt, 'base64url'),
    Number(log2N),
    Number(r),
    Number(p),
  );
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Spends the same time as a real check. Used for unknown ids so that the answer time does not
 * tell an attacker which ids exist. [design]
 */
export async function burnSecretCheck(secret: string): Promise<void> {
  await derive(secret, Buffer.alloc(saltLength), cost.log2N, cost.r, cost.p);
}

/** Equality of two strings in time that depends on neither (both are hashed to one length). */
export function constantTimeEqual(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function derive(
  secret: string,
  salt: Buffer,
  log2N: number,
  r: number,
  p: number,
): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** log2N, r, p, maxmem: 64 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}
