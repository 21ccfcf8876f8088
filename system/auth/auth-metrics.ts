import { Counter, type Registry } from 'prom-client';

/** Outcomes by HTTP status class, so that refused credentials stand apart from malformed input. */
export type RequestOutcome = 'ok' | 'refused' | 'bad_request' | 'error';

export function outcomeOf(statusCode: number): RequestOutcome {
  if (statusCode < 400) return 'ok';
  if (statusCode === 401 || statusCode === 403) return 'refused';
  return statusCode < 500 ? 'bad_request' : 'error';
}

export interface AuthMetrics {
  /** `POST /token` answers; `refused` counts wrong or unknown credentials. */
  readonly tokenRequests: Counter<'outcome'>;
  /** Admin API answers; `refused` counts a wrong or missing admin credential. */
  readonly adminRequests: Counter<'action' | 'outcome'>;
  readonly keyRotations: Counter;
  /** `POST /token` requests answered RATE_LIMITED, by reason (address, id, queue_full). */
  readonly tokenThrottled: Counter<'reason'>;
}

export function createAuthMetrics(registry: Registry): AuthMetrics {
  return {
    tokenRequests: new Counter({
      name: 'mqfed_auth_token_requests_total',
      help: 'Token requests, by outcome (ok, refused, bad_request, error)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    adminRequests: new Counter({
      name: 'mqfed_auth_admin_requests_total',
      help: 'Admin API requests, by action and outcome (ok, refused, bad_request, error)',
      labelNames: ['action', 'outcome'] as const,
      registers: [registry],
    }),
    tokenThrottled: new Counter({
      name: 'mqfed_auth_token_throttled_total',
      help: 'Token requests refused RATE_LIMITED, by reason (address, id, queue_full)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    keyRotations: new Counter({
      name: 'mqfed_auth_key_rotations_total',
      help: 'Signing key rotations since start',
      registers: [registry],
    }),
  };
}
