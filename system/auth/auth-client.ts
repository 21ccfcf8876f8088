import { type JsonRequest, requestJson, type TlsTrust } from '../common/index.ts';
import type { RevocationEntry, ServiceRole, TokenTarget, TopicScopes } from '../protocol/index.ts';
import type { ServiceCredentials, ServiceSummary } from './service-registry.ts';
import type { TokenResponse } from './token-issuer.ts';

export interface RegisterServiceRequest {
  /** Generated (`<role>-<random>`) when absent. */
  id?: string;
  role: ServiceRole;
  topics: TopicScopes;
}

/**
 * Calls the authentication service. Failures are thrown as the MqfedError the service answered
 * with, so callers branch on the same codes (CLIENT_CREDENTIALS_INVALID, SERVICE_NOT_FOUND, ...).
 */
export interface AuthClient {
  registerService(
    adminCredential: string,
    request: RegisterServiceRequest,
  ): Promise<ServiceCredentials>;
  rotateSecret(adminCredential: string, id: string): Promise<ServiceCredentials>;
  revokeService(adminCredential: string, id: string): Promise<void>;
  /** Revokes one token by its `jti`; `exp` (epoch seconds), when known, bounds the entry. */
  revokeToken(adminCredential: string, jti: string, exp?: number): Promise<RevocationEntry>;
  listRevocations(adminCredential: string): Promise<RevocationEntry[]>;
  rotateKey(adminCredential: string): Promise<{ kid: string }>;
  listServices(adminCredential: string): Promise<ServiceSummary[]>;
  /** A token for `audience` (default `auth`: the one to exchange for the others). */
  issueToken(
    credentials: ServiceCredentials,
    audience?: TokenTarget,
  ): Promise<{ token: string; expiresAt: number }>;
  /** Trades a token for `auth` for one that only `audience` accepts. */
  exchangeToken(
    authToken: string,
    audience: TokenTarget,
  ): Promise<{ token: string; expiresAt: number }>;
}

export interface AuthClientOptions {
  /** Base URL of the authentication service. */
  url: string;
  timeoutMs?: number;
  /** The CA an https:// auth service's certificate must be signed by. */
  tls?: TlsTrust | undefined;
}

export function createAuthClient(options: AuthClientOptions): AuthClient {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 5_000;
  const call = <T>(url: string, request: JsonRequest) =>
    requestJson<T>(url, { ...request, tls: options.tls });
  const servicePath = (id: string) => `${base}/admin/services/${encodeURIComponent(id)}`;

  return {
    registerService(adminCredential, request) {
      return call(`${base}/admin/services`, {
        body: request,
        bearer: adminCredential,
        timeoutMs,
      });
    },
    rotateSecret(adminCredential, id) {
      return call(`${servicePath(id)}/secret`, {
        method: 'POST',
        bearer: adminCredential,
        timeoutMs,
      });
    },
    async revokeService(adminCredential, id) {
      await call(servicePath(id), { method: 'DELETE', bearer: adminCredential, timeoutMs });
    },
    revokeToken(adminCredential, jti, exp) {
      return requestJson(`${base}/admin/revocations`, {
        body: exp === undefined ? { jti } : { jti, exp },
        bearer: adminCredential,
        timeoutMs,
      });
    },
    async listRevocations(adminCredential) {
      const answer = await requestJson<{ entries: RevocationEntry[] }>(
        `${base}/admin/revocations`,
        { bearer: adminCredential, timeoutMs },
      );
      return answer.entries;
    },
    rotateKey(adminCredential) {
      return call(`${base}/admin/keys/rotate`, {
        method: 'POST',
        bearer: adminCredential,
        timeoutMs,
      });
    },
    async listServices(adminCredential) {
      const answer = await call<{ services: ServiceSummary[] }>(`${base}/admin/services`, {
        bearer: adminCredential,
        timeoutMs,
      });
      return answer.services;
    },
    async issueToken(credentials, audience) {
      const answer = await call<TokenResponse>(`${base}/token`, {
        body: { id: credentials.id, secret: credentials.secret, audience },
        timeoutMs,
      });
      return { token: answer.token, expiresAt: answer.expiresAt };
    },
    async exchangeToken(authToken, audience) {
      const answer = await call<TokenResponse>(`${base}/token`, {
        body: { audience },
        bearer: authToken,
        timeoutMs,
      });
      return { token: answer.token, expiresAt: answer.expiresAt };
    },
  };
}
