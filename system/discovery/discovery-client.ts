import { requestJson, type TlsTrust } from '../common/index.ts';
import { MqfedError } from '../protocol/index.ts';
import type { BrokerRecord } from './broker-directory.ts';
import type { SessionClaim, SessionRecord, SessionRestore } from './session-wire.ts';
import type { TopicDelta } from './topic-index.ts';
import { openWatch, type Watch } from './watch-client.ts';
import type { WatchEvent } from './watch-frames.ts';

export interface DiscoveryClientOptions {
  /** Base URL of the discovery service. */
  url: string;
  /** Gives a valid token for each call, e.g. `tokenSource.current` (system/auth). */
  token: () => Promise<string>;
  timeoutMs?: number;
  /** The CA an https:// discovery service's certificate must be signed by. */
  tls?: TlsTrust | undefined;
}

export interface RegisterBrokerInput {
  id: string;
  /** ws:// or wss:// URL of the broker's peer-link server. */
  linkUrl: string;
  /** Requested lease lifetime; the service's default when absent, cut to its maximum. */
  ttlMs?: number;
  /** The initial topic space; replaces whatever a previous registration advertised. */
  topics?: string[];
  /**
   * The filters its clients subscribe (within the token's `sub` scope); replaces whatever a
   * previous registration advertised. None when absent.
   */
  interest?: string[];
}

export interface WatchOptions {
  /**
   * Also see the brokers whose interest intersects one of these, each with its matching
   * interest; `filter` may then be empty. [design] A publishing broker watches this way to learn
   * whom its topics concern before it has any link to them.
   */
  interestFilters?: readonly string[];
}

/**
 * Calls the discovery service. Failures are thrown as the MqfedError the service answered with,
 * so callers branch on its codes: LEASE_NOT_FOUND after a renew means "register again".
 */
export interface DiscoveryClient {
  register(input: RegisterBrokerInput): Promise<{ leaseTtlMs: number; leaseExpiresAt: number }>;
  renew(id: string): Promise<{ leaseExpiresAt: number }>;
  /** Resolves also when there was no lease any more: either way the broker is not listed. */
  deregister(id: string): Promise<void>;
  advertise(id: string, change: TopicDelta): Promise<{ topics: string[] }>;
  /** Changes the broker's interest filters by a delta; answers the whole interest after it. */
  advertiseInterest(id: string, change: TopicDelta): Promise<{ interest: string[] }>;
  /**
   * Live brokers with data matching `filter`, with their matching topics and the interest
   * filters meeting `filter`; all brokers with everything without one.
   */
  lookup(filter?: string): Promise<BrokerRecord[]>;
  /** Resolves once the server sent the snapshot (given to `onEvent` first). */
  watch(
    filter: string | readonly string[],
    onEvent: (event: WatchEvent) => void,
    options?: WatchOptions,
  ): Promise<Watch>;
  /**
   * The caller holds the session of `clientId` from now on; answers the new epoch and the entry
   * it replaced. SESSION_LIMIT_EXCEEDED when the broker or the directory is full.
   */
  claimSession(clientId: string): Promise<SessionClaim>;
  /** Who holds the session of `clientId`; undefined when nobody does. */
  lookupSession(clientId: string): Promise<SessionRecord | undefined>;
  /**
   * Gives the session up (its client connected with a clean session, or it expired). Resolves
   * also when nobody held it; SESSION_MOVED when another broker holds it, or a newer epoch than
   * `epoch` does.
   */
  releaseSession(clientId: string, epoch?: number): Promise<void>;
  /**
   * After (re)registering: claims every listed session nobody holds, at most 10 000 a call, so a
   * restart of discovery loses no entry. Ids another broker holds are answered, not taken.
   */
  restoreSessions(brokerId: string, clientIds: readonly string[]): Promise<SessionRestore>;
}

export function createDiscoveryClient(options: DiscoveryClientOptions): DiscoveryClient {
  const base = options.url.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 5_000;
  const brokerPath = (id: string) => `${base}/brokers/${encodeURIComponent(id)}`;
  const sessionPath = (clientId: string) => {
    // URL parsing would resolve these as path segments, percent-encoded or not, and send the
    // request to another path; the service refuses them too (session-wire.ts).
    if (clientId === '.' || clientId === '..' || clientId === '' || !clientId.isWellFormed()) {
      throw new MqfedError(
        'INVALID_REQUEST',
        'a client id must be well-formed Unicode, not empty, . or ..',
      );
    }
    return `${base}/sessions/${encodeURIComponent(clientId)}`;
  };
  const call = async <T>(
    url: string,
    method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE',
    body?: unknown,
  ): Promise<T> =>
    requestJson<T>(url, {
      method,
      bearer: await options.token(),
      timeoutMs,
      tls: options.tls,
      ...(body === undefined ? {} : { body }),
    });

  return {
    async register({ id, ...body }) {
      const answer = await call<{ leaseTtlMs: number; leaseExpiresAt: number }>(
        brokerPath(id),
        'PUT',
        body,
      );
      return { leaseTtlMs: answer.leaseTtlMs, leaseExpiresAt: answer.leaseExpiresAt };
    },
    async renew(id) {
      const answer = await call<{ leaseExpiresAt: number }>(`${brokerPath(id)}/lease`, 'POST');
      return { leaseExpiresAt: answer.leaseExpiresAt };
    },
    async deregister(id) {
      try {
        await call(brokerPath(id), 'DELETE');
      } catch (error) {
        if (!(error instanceof MqfedError && error.code === 'LEASE_NOT_FOUND')) throw error;
      }
    },
    async advertise(id, change) {
      const answer = await call<{ topics: string[] }>(`${brokerPath(id)}/topics`, 'PATCH', change);
      return { topics: answer.topics };
    },
    async advertiseInterest(id, change) {
      const path = `${brokerPath(id)}/interest`;
      const answer = await call<{ interest: string[] }>(path, 'PATCH', change);
      return { interest: answer.interest };
    },
    async lookup(filter) {
      const query = filter === undefined ? '' : `?filter=${encodeURIComponent(filter)}`;
      return (await call<{ brokers: BrokerRecord[] }>(`${base}/brokers${query}`, 'GET')).brokers;
    },
    watch(filter, onEvent, watchOptions = {}) {
      return openWatch({
        watchUrl: `${base.replace(/^http/, 'ws')}/watch`,
        token: options.token,
        filters: typeof filter === 'string' ? [filter] : filter,
        ...(watchOptions.interestFilters === undefined
          ? {}
          : { interestFilters: watchOptions.interestFilters }),
        onEvent,
        timeoutMs,
        tls: options.tls,
      });
    },
    async claimSession(clientId) {
      return call<SessionClaim>(sessionPath(clientId), 'PUT', {});
    },
    async lookupSession(clientId) {
      try {
        return await call<SessionRecord>(sessionPath(clientId), 'GET');
      } catch (error) {
        if (error instanceof MqfedError && error.code === 'SESSION_NOT_FOUND') return undefined;
        throw error;
      }
    },
    async releaseSession(clientId, epoch) {
      const query = epoch === undefined ? '' : `?epoch=${epoch}`;
      try {
        await call(`${sessionPath(clientId)}${query}`, 'DELETE');
      } catch (error) {
        if (!(error instanceof MqfedError && error.code === 'SESSION_NOT_FOUND')) throw error;
      }
    },
    async restoreSessions(brokerId, clientIds) {
      return call<SessionRestore>(`${brokerPath(brokerId)}/sessions`, 'PUT', { clientIds });
    },
  };
}
