import { randomBytes } from 'node:crypto';
import type { Clock } from '../common/index.ts';
import { MqfedError, type ServiceRole, type TopicScopes } from '../protocol/index.ts';
import type { AuthStore, ServiceRecord } from './auth-store.ts';
import { burnSecretCheck, generateSecret, hashSecret, verifySecret } from './secret-hash.ts';

export interface ServiceCredentials {
  id: string;
  secret: string;
}

/** A registration as the admin API lists it: everything but the secret hash. */
export interface ServiceSummary {
  id: string;
  role: ServiceRole;
  topics: TopicScopes;
  createdAt: number;
  secretRotatedAt: number;
}

export interface ProvisionRequest {
  id: string;
  role: ServiceRole;
  topics: TopicScopes;
  secret: string;
}

export interface ProvisionOutcome {
  /** True when the id was not registered before. */
  registered: boolean;
  /** An existing registration's role or topic scopes were changed. */
  scopesChanged: boolean;
  /** An existing registration's secret was replaced: tokens it yielded must be revoked. */
  secretReplaced: boolean;
}

/** Registered services and their secrets: the rules, over the store. */
export interface ServiceRegistry {
  register(request: {
    id?: string;
    role: ServiceRole;
    topics: TopicScopes;
  }): Promise<ServiceCredentials>;
  rotateSecret(id: string): Promise<ServiceCredentials>;
  /**
   * Makes the registration of `id` exactly this role, these scopes and this secret (chosen by
   * the operator, not generated): registers it, or updates what differs. Says what changed.
   */
  provision(request: ProvisionRequest): Promise<ProvisionOutcome>;
  /** Deletes the registration: its secret stops working and the id may be registered again. */
  revoke(id: string): void;
  list(): ServiceSummary[];
  /** The current registration of `id`, if any (no secret check). */
  find(id: string): ServiceRecord | undefined;
  /** The registration the credentials prove, or CLIENT_CREDENTIALS_INVALID. */
  authenticate(credentials: ServiceCredentials): Promise<ServiceRecord>;
}

export function createServiceRegistry(store: AuthStore, clock: Clock): ServiceRegistry {
  return {
    async register(request) {
      // [design] a generated id says what the service is, e.g. `broker-5f3a9c1e02d4`.
      const id = request.id ?? `${request.role}-${randomBytes(6).toString('hex')}`;
      const secret = generateSecret();
      const now = clock.now();
      const inserted = store.insertService({
        id,
        role: request.role,
        topics: request.topics,
        secretHash: await hashSecret(secret),
        createdAt: now,
        secretRotatedAt: now,
      });
      if (!inserted) throw new MqfedError('SERVICE_EXISTS', `service ${id} is already registered`);
      return { id, secret };
    },
    async rotateSecret(id) {
      if (store.findService(id) === undefined) throw notFound(id);
      const secret = generateSecret();
      if (!store.replaceSecret(id, await hashSecret(secret), clock.now())) throw notFound(id);
      return { id, secret };
    },
    async provision({ id, role, topics, secret }) {
      const existing = store.findService(id);
      if (existing === undefined) {
        const now = clock.now();
        const record = { id, role, topics, secretHash: await hashSecret(secret) };
        if (store.insertService({ ...record, createdAt: now, secretRotatedAt: now })) {
          return { registered: true, scopesChanged: false, secretReplaced: false };
        }
        throw new MqfedError('SERVICE_EXISTS', `service ${id} was registered meanwhile`);
      }
      const scopesChanged =
        existing.role !== role || JSON.stringify(existing.topics) !== JSON.stringify(topics);
      if (scopesChanged && !store.updateScopes(id, role, topics)) throw notFound(id);
      // [design] the stored hash is salted, so "same secret?" is a full scrypt check; a secret
      // that still matches keeps its hash and its rotation time, and tokens stay valid.
      const secretReplaced = !(await verifySecret(secret, existing.secretHash));
      if (secretReplaced && !store.replaceSecret(id, await hashSecret(secret), clock.now())) {
        throw notFound(id);
      }
      return { registered: false, scopesChanged, secretReplaced };
    },
    revoke(id) {
      if (!store.deleteService(id)) throw notFound(id);
    },
    list() {
      return store.listServices().map(({ secretHash: _hidden, ...summary }) => summary);
    },
    find: (id) => store.findService(id),
    async authenticate({ id, secret }) {
      const record = store.findService(id);
      if (record === undefined) {
        await burnSecretCheck(secret);
      } else if (await verifySecret(secret, record.secretHash)) {
        // Read again: a rotation or revocation may have landed while scrypt ran.
        const current = store.findService(id);
        if (current?.secretHash === record.secretHash) return current;
      }
      // [design] one answer for an unknown id and a wrong secret, so ids cannot be enumerated.
      throw new MqfedError('CLIENT_CREDENTIALS_INVALID');
    },
  };
}

function notFound(id: string): MqfedError {
  return new MqfedError('SERVICE_NOT_FOUND', `no registered service has the id ${id}`);
}
