import { requestJson } from '../common/index.ts';
import type { ServiceRole, TopicScopes } from '../protocol/index.ts';
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
  rotateKey(adminCredential: string): Promise<{ kid: string }>;
  listServices(adminCredential: string): Promise<ServiceSummary[]>;
  issueToken(credentials: ServiceCredentials): Promise<{ token: string; expiresAt: number }>;
}

export interface AuthClientOptions {
  /** Base URL of the authentication service. */
  url: string;
  timeoutMs?: number;
}

export function createAuthClient(options: AuthClientOptions): AuthClient {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 5_000;
  const servicePath = (id: string) => `${base}/admin/services/${encodeURIComponent(id)}`;

  return {
    registerService(adminCredential, request) {
      return requestJson(`${base}/admin/services`, {
        body: request,
        bearer: adminCredential,
        timeoutMs,
      });
    },
    rotateSecret(adminCredential, id) {
      return requestJson(`${servicePath(id)}/secret`, {
        method: 'POST',
        bearer: adminCredential,
        timeoutMs,
      });
    },
    async revokeService(adminCredential, id) {
      await requestJson(servicePath(id), { method: 'DELETE', bearer: adminCredential, timeoutMs });
    },
    rotateKey(adminCredential) {
      return requestJson(`${base}/admin/keys/rotate`, {
        method: 'POST',
        bearer: adminCredential,
        timeoutMs,
      });
    },
    async listServices(adminCredential) {
      const answer = await requestJson<{ services: ServiceSummary[] }>(`${base}/admin/services`, {
        bearer: adminCredential,
        timeoutMs,
      });
      return answer.services;
    },
    async issueToken(credentials) {
      const answer = await requestJson<TokenResponse>(`${base}/token`, {
        body: { id: credentials.id, secret: credentials.secret },
        timeoutMs,
      });
      return { token: answer.token, expiresAt: answer.expiresAt };
    },
  };
}
