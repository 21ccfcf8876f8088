import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Clock, FetchLike } from '../common/index.ts';
import { MqfedError, TOKEN_ALGORITHM } from '../protocol/index.ts';

export interface JwksCacheOptions {
  jwksUrl: string;
  clock: Clock;
  /** A key set older than this is refreshed in the background while it keeps serving. */
  maxAgeMs: number;
  /** At most one fetch per this interval, however many unknown kids arrive. */
  cooldownMs: number;
  timeoutMs: number;
  /** `fetchTrusting(tls)` for an https:// JWKS signed by a private CA. */
  fetch: FetchLike;
}

/** The issuer's public keys by kid, fetched from its JWKS and kept through its outages. */
export interface JwksCache {
  /** The key for `kid`: TOKEN_INVALID when the issuer has no such key, KEYS_UNAVAILABLE when
   *  the key set cannot be fetched and nothing cached answers. */
  keyFor(kid: string): Promise<KeyObject>;
}

const emptyRetryMs = 1_000;

const jwksSchema = z.object({ keys: z.array(z.looseObject({ kid: z.unknown() })).max(100) });

/**
 * [design] Rules, in order of importance:
 * - a cached key set is replaced only by a successfully fetched one, never dropped because a
 *   fetch failed: verification goes on while the issuer is down (DESIGN.md §1);
 * - an unknown kid triggers a refetch (the issuer may have rotated), but at most once per
 *   cooldown, so an attacker spraying made-up kids cannot turn verifiers against the issuer;
 * - a stale key set is refreshed in the background, so no verification waits on the issuer
 *   for a kid that is already known;
 * - one fetch at a time; concurrent callers share it.
 */
export function createJwksCache(options: JwksCacheOptions): JwksCache {
  let keys: Map<string, KeyObject> | undefined;
  let fetchedAt = 0;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<boolean> | undefined;

  const refresh = (): Promise<boolean> => {
    inFlight ??= (async () => {
      attemptedAt = options.clock.now();
      try {
        keys = await fetchKeys(options);
        fetchedAt = options.clock.now();
        return true;
      } catch {
        return false;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
  const mayFetch = (interval = options.cooldownMs) => options.clock.now() - attemptedAt >= interval;

  return {
    async keyFor(kid) {
      if (keys === undefined) {
        // With nothing cached there is nothing to protect: retry sooner than the cooldown.
        if (inFlight !== undefined || mayFetch(Math.min(options.cooldownMs, emptyRetryMs))) {
          await refresh();
        }
        if (keys === undefined) {
          throw keysUnavailable();
        }
      } else if (options.clock.now() - fetchedAt >= options.maxAgeMs && mayFetch()) {
        void refresh();
      }
      const known = keys.get(kid);
      if (known !== undefined) return known;
      if (inFlight !== undefined || mayFetch()) {
        const fetched = await refresh();
        const found = keys.get(kid);
        if (found !== undefined) return found;
        if (!fetched) throw keysUnavailable();
      }
      throw new MqfedError(
        'TOKEN_INVALID',
        'the token is signed with a key the issuer does not publish',
      );
    },
  };
}

async function fetchKeys(options: JwksCacheOptions): Promise<Map<string, KeyObject>> {
  const response = await options.fetch(options.jwksUrl, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  if (!response.ok) throw new Error(`JWKS answered ${response.status}`);
  const { keys } = jwksSchema.parse(await response.json());
  const found = new Map<string, KeyObject>();
  for (const jwk of keys) {
    // Only Ed25519 signing keys are usable; anything else in the set is ignored, not trusted.
    const usable =
      typeof jwk.kid === 'string' &&
      jwk.kty === 'OKP' &&
      jwk.crv === 'Ed25519' &&
      typeof jwk.x === 'string' &&
      jwk.d === undefined &&
      (jwk.alg === undefined || jwk.alg === TOKEN_ALGORITHM) &&
      (jwk.use === undefined || jwk.use === 'sig');
    if (!usable) continue;
    try {
      found.set(
        jwk.kid as string,
        createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string }, format: 'jwk' }),
      );
    } catch {
      // A malformed key is skipped; the others still serve.
    }
  }
  return found;
}

// The message stays free of the JWKS URL: it may travel to a remote caller.
function keysUnavailable(): MqfedError {
  return new MqfedError(
    'KEYS_UNAVAILABLE',
    'the issuer keys cannot be fetched and none are cached',
  );
}
