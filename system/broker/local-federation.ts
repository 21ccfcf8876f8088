import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  type AuthService,
  type AuthServiceOptions,
  createAuthClient,
  startAuthService,
} from '../auth/index.ts';
import {
  ensureLocalTls,
  type LogLevel,
  type RunningService,
  runningService,
  TLS_DIR,
  type TlsConfig,
} from '../common/index.ts';
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
  /** MQTTS port of the first broker, with `tls`; the others follow it. 0: free ports. */
  mqttsPort?: number;
  /** Topic scopes every broker is registered with. */
  scopes?: TopicScopes;
  logLevel?: LogLevel;
  /**
   * TLS on every hop from one local CA, made on first start in `<dir>/tls/` (`true`: in
   * `dataDir`) and reused after; each service gets its own certificate. Plain text when absent.
   */
  tls?: boolean | { dir: string };
  auth?: Partial<AuthServiceOptions>;
  discovery?: Partial<DiscoveryServiceOptions>;
  /** Applied to every broker service. */
  broker?: Partial<BrokerServiceOptions>;
}

export interface LocalFederation extends RunningService {
  readonly auth: AuthService;
  readonly discovery: DiscoveryService;
  /** The CA certificate (PEM) clients must trust, and its file, when the federation has TLS. */
  readonly ca: string | undefined;
  readonly caPath: string | undefined;
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
  const tlsDir =
    options.tls === undefined || options.tls === false
      ? undefined
      : options.tls === true
        ? options.dataDir
        : options.tls.dir;
  let caPath: string | undefined;
  const caDir = tlsDir === undefined ? undefined : join(tlsDir, TLS_DIR);
  // Every name a client on this machine or the container network may use for the service.
  const tlsFor = async (name: string, extraHosts: readonly (string | undefined)[] = []) => {
    if (caDir === undefined) return {};
    const hosts = [host, '127.0.0.1', '::1', 'localhost', hostname(), ...extraHosts];
    const local = await ensureLocalTls({
      dir: caDir,
      name,
      hosts: hosts.filter((h): h is string => h !== undefined && h !== '0.0.0.0' && h !== '::'),
    });
    caPath = local.caPath;
    const tls: TlsConfig = { ca: local.ca, cert: local.cert, key: local.key };
    return { tls };
  };
  const auth = await startAuthService({
    dataDir: options.dataDir,
    host,
    ...(await tlsFor('auth')),
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
    const discoveryTls = await tlsFor('discovery');
    discovery = await startDiscoveryService({
      host,
      ...discoveryTls,
      jwksUrl: auth.jwksUrl,
      issuer: auth.issuer,
      audience: auth.audience,
      ...(logLevel === undefined ? {} : { logLevel }),
      ...options.discovery,
    });
    const discoveryUrl = discovery.url;
    const authClient = createAuthClient({ url: auth.url, tls: discoveryTls.tls });
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
      const advertisedHost = extra.advertisedHost ?? options.broker?.advertisedHost;
      const broker = await startBrokerService({
        ...(await tlsFor(`broker-${id}`, [advertisedHost])),
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
    const firstTlsPort = options.mqttsPort ?? 0;
    for (const [index, id] of ids.entries()) {
      await startBroker(id, {
        mqttPort: firstPort === 0 ? 0 : firstPort + index,
        mqttsPort: firstTlsPort === 0 ? 0 : firstTlsPort + index,
      });
    }

    return runningService<Omit<LocalFederation, keyof RunningService>>(discoveryUrl, closeAll, {
      auth,
      discovery,
      ca: discoveryTls.tls?.ca,
      caPath,
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
