import { MqfedError, type ServiceRole, type TokenClaims } from '../protocol/index.ts';

/**
 * Refuses with ROLE_FORBIDDEN unless the verified token's role is one of `allowed`. Every
 * endpoint decides which roles may call it; the verifier only says who the caller is. [design]
 */
export function requireRole(
  claims: TokenClaims,
  allowed: ServiceRole | readonly ServiceRole[],
): TokenClaims {
  const roles: readonly ServiceRole[] = typeof allowed === 'string' ? [allowed] : allowed;
  if (!roles.includes(claims.role)) {
    throw new MqfedError(
      'ROLE_FORBIDDEN',
      `role ${claims.role} may not do this; needs ${roles.join(' or ')}`,
    );
  }
  return claims;
}
