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
import { type AdminCredentialSource, loadAdminCredential } from './admin-credential.ts';
import { registerAdminRoutes } from './admin-routes.ts';
import { createAuthMetrics } from './auth-metrics.ts';
import { type AuthServiceOptions, resolveAuthServiceOptions } from './auth-service-options.ts';
import { openAuthStore } from './auth-store.ts';
import { createServiceRegistry } from './service-registry.ts';
import { openSigningKeyRing } from './signing-keys.ts';
import { createTokenIssuer } from './token-issuer.ts';
import { JWKS_PATH, registerTokenRoutes } from './token-routes.ts';

export const AUTH_DATABASE_FILE = 'auth.sqlite';

export interface AuthService extends RunningService {
  /** `${url}/.well-known/jwks.json`, what every verifier is given. */
  readonly jwksUrl: string;
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
    });
    registerTokenRoutes(app, { registry, keys, issuer, metrics, logger });
    registerAdminRoutes(app, { adminCredential: admin.value, registry, keys, metrics, logger });

    const url = await listenOn(app, config.host, config.port).catch(async (error: unknown) => {
      await app.close();
      throw error;
    });
    logger.info(
      { url, issuer: config.issuer, kid: keys.signingKey().kid },
      'auth service listening',
    );
    return runningService(
      url,
      async () => {
        await app.close();
        store.close();
        logger.info({ url }, 'auth service closed');
      },
      {
        jwksUrl: `${url}${JWKS_PATH}`,
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
