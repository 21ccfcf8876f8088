import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Clock } from '../common/index.ts';
import {
  audienceFor,
  type ServiceRole,
  TOKEN_ALGORITHM,
  type TokenTarget,
  type TopicScopes,
} from '../protocol/index.ts';
import type { SigningKeyRing } from './signing-keys.ts';

/** The answer of `POST /token`, shaped like an OAuth 2 token response. */
export interface TokenResponse {
  token: string;
  tokenType: 'Bearer';
  /** Seconds until expiry, as in OAuth 2. */
  expiresIn: number;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface TokenSubject {
  id: string;
  role: ServiceRole;
  topics: TopicScopes;
}

export interface TokenIssuer {
  /** A token for `subject` that only `target` accepts. */
  issue(subject: TokenSubject, target: TokenTarget): Promise<TokenResponse>;
}

export function createTokenIssuer(options: {
  keys: SigningKeyRing;
  issuer: string;
  /** The federation's base audience; each token's `aud` is `<audience>:<target>`. */
  audience: string;
  tokenTtlMs: number;
  clock: Clock;
}): TokenIssuer {
  const lifetimeSec = Math.floor(options.tokenTtlMs / 1000);
  return {
    async issue(subject, target) {
      const { kid, privateKey } = options.keys.signingKey();
      const iat = Math.floor(options.clock.now() / 1000);
      const exp = iat + lifetimeSec;
      const token = await new SignJWT({
        role: subject.role,
        topics: { pub: [...subject.topics.pub], sub: [...subject.topics.sub] },
      })
        .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid, typ: 'JWT' })
        .setIssuer(options.issuer)
        .setSubject(subject.id)
        .setAudience(audienceFor(options.audience, target))
        .setIssuedAt(iat)
        // [design] nbf = iat: a token is good from the moment it is made; verifiers allow skew.
        .setNotBefore(iat)
        .setExpirationTime(exp)
        .setJti(randomBytes(16).toString('base64url'))
        .sign(privateKey);
      return { token, tokenType: 'Bearer', expiresIn: lifetimeSec, expiresAt: exp * 1000 };
    },
  };
}
