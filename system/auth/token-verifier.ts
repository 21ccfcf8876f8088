import type { KeyObject } from 'node:crypto';
import { type JWTVerifyGetKey, jwtVerify } from 'jose';
import { type Clock, type FetchLike, systemClock } from '../common/index.ts';
import {
  type ErrorCode,
  errorCatalogue,
  MqfedError,
  TOKEN_ALGORITHM,
  type TokenClaims,
  tokenClaimsSchema,
} from '../protocol/index.ts';
import { createJwksCache } from './jwks-cache.ts';

export interface TokenVerifierOptions {
  jwksUrl: string;
  /** Looks keys up locally instead of fetching `jwksUrl` (the auth service verifying its own). */
  keyFor?: (kid: string) => Promise<KeyObject>;
  issuer: string;
  /** The one `aud` accepted: `audienceFor(base, <this service's target>)`. */
  audience: string;
  /** Allowed clock skew for `exp` and `nbf`, in seconds. */
  clockToleranceSec?: number;
  clock?: Clock;
  /** Refresh a key set older than this (in the background; the cached one keeps serving). */
  jwksMaxAgeMs?: number;
  /** At most one JWKS fetch per this interval when tokens carry unknown kids. */
  jwksCooldownMs?: number;
  jwksTimeoutMs?: number;
  /** Seam for tests and instrumentation. */
  /** How the JWKS is fetched: `fetchTrusting(tls)` for an auth service behind a private CA. */
  fetch?: FetchLike;
}

export interface TokenVerifier {
  /**
   * The claims of a valid token. Throws MqfedError TOKEN_INVALID, TOKEN_EXPIRED,
   * TOKEN_NOT_YET_VALID, TOKEN_CLAIM_INVALID or KEYS_UNAVAILABLE.
   */
  verify(token: string): Promise<TokenClaims>;
}

export const tokenVerifierDefaults = {
  clockToleranceSec: 5,
  jwksMaxAgeMs: 5 * 60_000,
  // [design] 10 s bounds the load a kid-spraying attacker causes, while a verifier that missed a
  // rotation recovers quickly; the auth service keeps old keys published, so little waits on it.
  jwksCooldownMs: 10_000,
  jwksTimeoutMs: 5_000,
} as const;

/** The one token verifier every mqfed service uses. Offline except for fetching the JWKS. */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const clock = options.clock ?? systemClock;
  const keys =
    options.keyFor !== undefined
      ? { keyFor: options.keyFor }
      : createJwksCache({
          jwksUrl: options.jwksUrl,
          clock,
          maxAgeMs: options.jwksMaxAgeMs ?? tokenVerifierDefaults.jwksMaxAgeMs,
          cooldownMs: options.jwksCooldownMs ?? tokenVerifierDefaults.jwksCooldownMs,
          timeoutMs: options.jwksTimeoutMs ?? tokenVerifierDefaults.jwksTimeoutMs,
          fetch: options.fetch ?? fetch,
        });
  // jose checks `alg` against `algorithms` before it asks for a key, so `none`, HS256 and the
  // like are refused without a lookup, and the key handed back is always an Ed25519 one.
  const keyFor: JWTVerifyGetKey = async (header) => {
    if (typeof header.kid !== 'string' || header.kid.length === 0) {
      throw new MqfedError('TOKEN_INVALID', 'the token header has no kid');
    }
    return keys.keyFor(header.kid);
  };

  return {
    async verify(token) {
      let payload: unknown;
      try {
        ({ payload } = await jwtVerify(token, keyFor, {
          algorithms: [TOKEN_ALGORITHM],
          issuer: options.issuer,
          audience: options.audience,
          typ: 'JWT',
          requiredClaims: ['sub', 'iat', 'nbf', 'exp', 'jti'],
          clockTolerance: options.clockToleranceSec ?? tokenVerifierDefaults.clockToleranceSec,
          currentDate: new Date(clock.now()),
        }));
      } catch (error) {
        throw toVerifyError(error);
      }
      const claims = tokenClaimsSchema.safeParse(payload);
      if (!claims.success) {
        throw new MqfedError('TOKEN_CLAIM_INVALID', 'the token claims do not match the schema');
      }
      return claims.data;
    },
  };
}

/** jose's error classes, by their stable `code`, onto our catalogue. */
function toVerifyError(error: unknown): MqfedError {
  if (error instanceof MqfedError) return error;
  const { code, claim } = error as { code?: unknown; claim?: unknown };
  let mapped: ErrorCode = 'TOKEN_INVALID';
  if (code === 'ERR_JWT_EXPIRED') mapped = 'TOKEN_EXPIRED';
  else if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'nbf') {
    mapped = 'TOKEN_NOT_YET_VALID';
  } else if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim !== 'typ') {
    // iss, aud, or a required claim missing; a wrong `typ` header stays TOKEN_INVALID.
    mapped = 'TOKEN_CLAIM_INVALID';
  }
  // jose's own message names the rule (`unexpected "aud" claim value`), never key material.
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new MqfedError(
    mapped,
    `${errorCatalogue[mapped].summary.replace(/\.$/, '')}${detail}`,
    error,
  );
}
