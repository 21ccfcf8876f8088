export { ADMIN_CREDENTIAL_FILE, type AdminCredentialSource } from './admin-credential.ts';
export {
  type AuthClient,
  type AuthClientOptions,
  createAuthClient,
  type RegisterServiceRequest,
} from './auth-client.ts';
export { AUTH_DATABASE_FILE, type AuthService, startAuthService } from './auth-service.ts';
export {
  type AuthServiceOptions,
  authServiceDefaults,
  resolveAuthServiceOptions,
} from './auth-service-options.ts';
export {
  defaultTopicsFor,
  loadProvisionManifest,
  type ProvisionedService,
  provisionLimits,
} from './provision-manifest.ts';
export { requireRole } from './require-role.ts';
export { registerRevocationMetrics } from './revocation-metrics.ts';
export { type RevocationCheck, withRevocations } from './revocation-verifier.ts';
export {
  createRevocationWatch,
  type RevocationWatch,
  type RevocationWatchOptions,
  revocationFeedUrl,
  revocationWatchDefaults,
} from './revocation-watch.ts';
export type { ServiceCredentials, ServiceSummary } from './service-registry.ts';
export type { TokenResponse } from './token-issuer.ts';
export { JWKS_PATH } from './token-routes.ts';
export {
  createTokenSource,
  type TokenFetch,
  type TokenSource,
  type TokenSourceOptions,
  tokenSourceDefaults,
} from './token-source.ts';
export {
  createTokenVerifier,
  type TokenVerifier,
  type TokenVerifierOptions,
  tokenVerifierDefaults,
} from './token-verifier.ts';
export { createTokenWallet, type TokenWallet, type TokenWalletOptions } from './token-wallet.ts';
