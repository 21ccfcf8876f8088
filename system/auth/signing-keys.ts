import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { Clock } from '../common/index.ts';
import { MqfedError, TOKEN_ALGORITHM } from '../protocol/index.ts';
import type { AuthStore, SigningKeyRecord } from './auth-store.ts';

/** A public key as published in the JWKS. */
export interface PublishedJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: typeof TOKEN_ALGORITHM;
  use: 'sig';
}

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
}

/**
 * The issuer's Ed25519 keys. Exactly one key signs; a rotated-out key stays published for
 * `retireAfterMs` after its rotation (the token lifetime plus a margin), so every token it signed
 * keeps verifying until it expires, and is then deleted. [design]
 */
export interface SigningKeyRing {
  signingKey(): SigningKey;
  /** Makes a new key the signing key and returns its kid. */
  rotate(): Promise<string>;
  /** The keys to publish, after dropping those whose tokens have all expired. */
  published(): PublishedJwk[];
  /** The public key of a published `kid`, for the auth service's own verifications. */
  publicKey(kid: string): KeyObject | undefined;
}

interface LoadedKey {
  readonly record: SigningKeyRecord;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly jwk: PublishedJwk;
}

export async function openSigningKeyRing(
  store: AuthStore,
  clock: Clock,
  retireAfterMs: number,
): Promise<SigningKeyRing> {
  let loaded: LoadedKey[] = [];
  const reload = () => {
    store.deleteKeysRetiredBefore(clock.now() - retireAfterMs);
    loaded = store.signingKeys().map(loadKey);
  };
  const rotate = async () => {
    const next = await newKeyRecord(clock.now());
    store.promoteSigningKey(next, next.createdAt);
    reload();
    return next.kid;
  };

  reload();
  if (!loaded.some((key) => key.record.retiredAt === null)) await rotate();

  return {
    signingKey() {
      const active = loaded.find((key) => key.record.retiredAt === null);
      if (active === undefined) throw new MqfedError('INTERNAL', 'no active signing key');
      return { kid: active.record.kid, privateKey: active.privateKey };
    },
    rotate,
    published() {
      const cutoff = clock.now() - retireAfterMs;
      if (loaded.some(({ record }) => record.retiredAt !== null && record.retiredAt < cutoff)) {
        reload();
      }
      return loaded.map((key) => key.jwk);
    },
    publicKey(kid) {
      const cutoff = clock.now() - retireAfterMs;
      const key = loaded.find(({ record }) => record.kid === kid);
      if (key === undefined || (key.record.retiredAt !== null && key.record.retiredAt < cutoff)) {
        return undefined;
      }
      return key.publicKey;
    },
  };
}

async function newKeyRecord(now: number): Promise<SigningKeyRecord> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const privateJwk = privateKey.export({ format: 'jwk' });
  // [design] the kid is the RFC 7638 thumbprint: unique per key and checkable by anyone.
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: privateJwk.x! });
  return { kid, privateJwk, createdAt: now, retiredAt: null };
}

function loadKey(record: SigningKeyRecord): LoadedKey {
  const privateKey = createPrivateKey({ key: record.privateJwk, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const { x } = publicKey.export({ format: 'jwk' });
  if (x === undefined) throw new MqfedError('INTERNAL', `signing key ${record.kid} is not OKP`);
  return {
    record,
    privateKey,
    publicKey,
    jwk: { kty: 'OKP', crv: 'Ed25519', x, kid: record.kid, alg: TOKEN_ALGORITHM, use: 'sig' },
  };
}
