import { join } from 'node:path';
import {
  type AuthService,
  type AuthServiceOptions,
  createAuthClient,
  startAuthService,
} from '../auth/index.ts';
import { type LogLevel, type RunningService, runningService } from '../common/index.ts';
import {
  type DiscoveryService,
  type DiscoveryServiceOptions,
  startDiscoveryService,
} from '../discovery/index.ts';
import { MqfedError, type TopicScopes } from '../protocol/index.ts';
import { type BrokerService, startBrokerService } from './broker-service.ts';
import type { BrokerServiceOptions } from './broker-service-options.ts';

export interface LocalFederationOptions {
  /** Where the auth service keeps its database. */
  dataDir: string;
  /** Broker services started at once: their ids, or how many (named b1, b2, ...). */
  brokers?: number | readonly string[];
  host?: string;
  /** MQTT port of the first broker; the others follow it. 0 gives each a free port. */
  mqttPort?: number;
  /** Topic scopes every broker is registered with. */
  scopes?: TopicScopes;
  logLevel?: LogLevel;
  auth?: Partial<AuthServiceOptions>;
  discovery?: Partial<DiscoveryServiceOptions>;
  /** Applied to every broker service. */
  broker?: Partial<BrokerServiceOptions>;
}

export interface LocalFederation extends RunningService {
  readonly auth: AuthService;
  readonly discovery: DiscoveryService;
  /** The running brokers, in start order. */
  brokers(): BrokerService[];
  broker(id: string): BrokerService;
  /** Registers (or re-keys) and starts one more broker service. */
  startBroker(id: string, options?: Partial<BrokerServiceOptions>): Promise<BrokerService>;
  /** Closes one broker service cleanly (it deregisters). */
  stopBroker(id: string): Promise<void>;
}

export const localFederationDefaults = {
  brokers: 3,
  host: '127.0.0.1',
  mqttPort: 0,
  scopes: { pub: ['#'], sub: ['#'] } as TopicScopes,
} as const;

/**
 * A whole federation in this process: an auth service, a discovery service and broker services
 * registered with both. `mqfed up` runs it; tests and the in-process topology use it too.
 */
export async function startLocalFederation(
  options: LocalFederationOptions,
): Promise<LocalFederation> {
  const host = options.host ?? localFederationDefaults.host;
  const scopes = options.scopes ?? localFederationDefaults.scopes;
  const logLevel = options.logLevel;
  const auth = await startAuthService({
    dataDir: options.dataDir,
    host,
    ...(logLevel === undefined ? {} : { logLevel }),
    ...options.auth,
  });
  const running = new Map<string, BrokerService>();
  let discovery: DiscoveryService | undefined;
  const closeAll = async () => {
    for (const broker of [...running.values()].reverse()) await broker.close();
    running.clear();
    await discovery?.close();
    await auth.close();
  };
  try {
    discovery = await startDiscoveryService({
      host,
      jwksUrl: auth.jwksUrl,
      issuer: auth.issuer,
      audience: auth.audience,
      ...(logLevel === undefined ? {} : { logLevel }),
      ...options.discovery,
    });
    const discoveryUrl = discovery.url;
    const authClient = createAuthClient({ url: auth.url });
    const credentialsFor = async (id: string) => {
      try {
        return await authClient.registerService(auth.adminCredential, {
          id,
          role: 'broker',
          topics: scopes,
        });
      } catch (error) {
        // Registered by an earlier run on the same data directory: give it a new secret.
        if (!(error instanceof MqfedError && error.code === 'SERVICE_EXISTS')) throw error;
        return authClient.rotateSecret(auth.adminCredential, id);
      }
    };
    const startBroker = async (id: string, extra: Partial<BrokerServiceOptions> = {}) => {
      if (running.has(id)) throw new MqfedError('SERVICE_EXISTS', `broker ${id} is running`);
      const { secret } = await credentialsFor(id);
      const broker = await startBrokerService({
        id,
        secret,
        authUrl: auth.url,
        discoveryUrl,
        issuer: auth.issuer,
        audience: auth.audience,
        host,
        // Each broker keeps its outboxes and sessions beside the auth database, so a broker
        // of the federation restarted on the same directory loses nothing.
        dataDir: join(options.dataDir, 'brokers', id),
        ...(logLevel === undefined ? {} : { logLevel }),
        ...options.broker,
        ...extra,
      });
      running.set(id, broker);
      return broker;
    };

    const requested = options.brokers ?? localFederationDefaults.brokers;
    const ids =
      typeof requested === 'number'
        ? Array.from({ length: requested }, (_, index) => `b${index + 1}`)
        : requested;
    const firstPort = options.mqttPort ?? localFederationDefaults.mqttPort;
    for (const [index, id] of ids.entries()) {
      await startBroker(id, { mqttPort: firstPort === 0 ? 0 : firstPort + index });
    }

    return runningService<Omit<LocalFederation, keyof RunningService>>(discoveryUrl, closeAll, {
      auth,
      discovery,
      brokers: () => [...running.values()],
      broker(id: string) {
        const broker = running.get(id);
        if (broker === undefined) throw new MqfedError('SERVICE_NOT_FOUND', `no broker ${id}`);
        return broker;
      },
      startBroker,
      async stopBroker(id: string) {
        const broker = running.get(id);
        running.delete(id);
        await broker?.close();
      },
    });
  } catch (error) {
    await closeAll();
    throw error;
  }
}
