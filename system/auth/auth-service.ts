import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createHttpApp,
  createLogger,
  createMetricsRegistry,
  listenOn,
  type RunningService,
  runningService,
} from '../common/index.ts';
import { audienceFor, MqfedError } from '../protocol/index.ts';
import { type AdminCredentialSource, loadAdminCredential } from './admin-credential.ts';
import { registerAdminRoutes } from './admin-routes.ts';
import { createAuthMetrics } from './auth-metrics.ts';
import { type AuthServiceOptions, resolveAuthServiceOptions } from './auth-service-options.ts';
import { openAuthStore } from './auth-store.ts';
import { loadProvisionManifest } from './provision-manifest.ts';
import { provisionServices } from './provision-services.ts';
import { attachRevocationFeed } from './revocation-feed.ts';
import { createRevocationList } from './revocation-list.ts';
import { registerRevocationFeedMetrics } from './revocation-metrics.ts';
import { withRevocations } from './revocation-verifier.ts';
import { revocationFeedUrl } from './revocation-watch.ts';
import { createServiceRegistry } from './service-registry.ts';
import { openSigningKeyRing } from './signing-keys.ts';
import { createTokenIssuer } from './token-issuer.ts';
import { JWKS_PATH, registerTokenRoutes } from './token-routes.ts';
import { createTokenThrottle } from './token-throttle.ts';
import { createTokenVerifier } from './token-verifier.ts';

export const AUTH_DATABASE_FILE = 'auth.sqlite';

export interface AuthService extends RunningService {
  /** `${url}/.well-known/jwks.json`, what every verifier is given. */
  readonly jwksUrl: string;
  /** `ws://host:port/revocations`, the push feed of the revocation list. */
  readonly revocationFeedUrl: string;
  readonly issuer: string;
  readonly audience: string;
  readonly adminCredential: string;
  /** Set when the admin credential was read from, or generated into, the data directory. */
  readonly adminCredentialPath?: string;
  readonly adminCredentialSource: AdminCredentialSource;
}

/** Starts the authentication service; resolves once it listens. */
export async function startAuthService(options: AuthServiceOptions): Promise<AuthService> {
  const config = resolveAuthServiceOptions(options);
  const logger = config.logger ?? createLogger('auth', config.logLevel);
  // Read and checked whole before anything is opened: a bad manifest changes nothing.
  const provisioned =
    config.provisionFile === undefined ? [] : await loadProvisionManifest(config.provisionFile);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });

  const admin = await loadAdminCredential(config.dataDir, config.adminCredential);
  if (admin.source === 'generated') {
    logger.info({ path: admin.path }, 'admin credential generated and written');
  } else if (admin.looseMode !== undefined) {
    logger.warn(
      { path: admin.path, mode: admin.looseMode.toString(8) },
      'the admin credential file is readable by others; chmod 600 it',
    );
  }

  const store = openAuthStore(join(config.dataDir, AUTH_DATABASE_FILE));
  try {
    const keys = await openSigningKeyRing(
      store,
      config.clock,
      config.tokenTtlMs + config.keyRetireMarginMs,
    );
    const registry = createServiceRegistry(store, config.clock);
    const metricsRegistry = createMetricsRegistry('auth');
    const metrics = createAuthMetrics(metricsRegistry);
    const issuer = createTokenIssuer({ keys, ...config });
    const app = createHttpApp({
      logger,
      metrics: metricsRegistry,
      bodyLimit: config.bodyLimitBytes,
      tls: config.tls,
      timeouts: config.httpTimeouts,
    });
    const throttle = createTokenThrottle({
      limits: config.tokenThrottle,
      clock: config.clock,
      throttled: metrics.tokenThrottled,
    });
    const revocations = createRevocationList({
      store,
      clock: config.clock,
      retainMs: config.keyRetireMarginMs,
      tokenTtlMs: config.tokenTtlMs,
    });
    const feed = attachRevocationFeed(app.server, {
      list: revocations,
      logger,
      maxConnections: config.maxRevocationFeedSockets,
      heartbeatMs: config.revocationFeedHeartbeatMs,
      maxBufferBytes: 8 * 1024 * 1024,
    });
    registerRevocationFeedMetrics(metricsRegistry, {
      entries: () => revocations.size,
      sockets: () => feed.sockets,
    });
    const closeRevocations = async () => {
      await feed.close();
      revocations.close();
    };
    // A token exchange with a revoked token gets nothing: the list is checked here directly.
    const ownVerifier = createTokenVerifier({
      jwksUrl: '',
      keyFor: async (kid) => {
        const key = keys.publicKey(kid);
        if (key === undefined) throw new MqfedError('TOKEN_INVALID', 'no signing key has this kid');
        return key;
      },
      issuer: config.issuer,
      audience: audienceFor(config.audience, 'auth'),
      clock: config.clock,
    });
    const verifier = withRevocations(ownVerifier, revocations);
    registerTokenRoutes(app, { registry, keys, issuer, verifier, metrics, logger, throttle });
    registerAdminRoutes(app, {
      adminCredential: admin.value,
      registry,
      keys,
      revocations,
      metrics,
      logger,
    });

    const closeBeforeListening = async (error: unknown) => {
      await closeRevocations();
      await app.close();
      throw error;
    };
    if (provisioned.length > 0) {
      const summary = await provisionServices(provisioned, registry, revocations, logger).catch(
        closeBeforeListening,
      );
      logger.info(summary, 'provisioning manifest applied');
    }
    const url = await listenOn(app, config.host, config.port).catch(closeBeforeListening);
    logger.info(
      { url, issuer: config.issuer, kid: keys.signingKey().kid },
      'auth service listening',
    );
    return runningService(
      url,
      async () => {
        // Upgraded feed sockets no longer belong to the HTTP server, so they are closed first.
        await closeRevocations();
        await app.close();
        store.close();
        logger.info({ url }, 'auth service closed');
      },
      {
        jwksUrl: `${url}${JWKS_PATH}`,
        revocationFeedUrl: revocationFeedUrl(url),
        issuer: config.issuer,
        audience: config.audience,
        adminCredential: admin.value,
        adminCredentialSource: admin.source,
        ...(admin.path === undefined ? {} : { adminCredentialPath: admin.path }),
      },
    );
  } catch (error) {
    store.close();
    throw error;
  }
}
