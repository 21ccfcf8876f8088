import { MqfedError, type TokenClaims } from '../protocol/index.ts';
import type { TokenVerifier } from './token-verifier.ts';

/** Anything that knows whether a token's claims are revoked: the feed client, or the auth
 *  service's own list. */
export interface RevocationCheck {
  isRevoked(claims: Pick<TokenClaims, 'sub' | 'iat' | 'jti'>): boolean;
}

/**
 * `verifier`, refusing tokens the revocation list names with TOKEN_REVOKED. Only a token that
 * verifies otherwise is looked up: a forged one never reaches the list. Without a check the
 * verifier is handed back as it is.
 */
export function withRevocations(
  verifier: TokenVerifier,
  revocations: RevocationCheck | undefined,
): TokenVerifier {
  if (revocations === undefined) return verifier;
  return {
    async verify(token) {
      const claims = await verifier.verify(token);
      if (revocations.isRevoked(claims)) {
        throw new MqfedError('TOKEN_REVOKED', `this token of ${claims.sub} was revoked`);
      }
      return claims;
    },
  };
}
