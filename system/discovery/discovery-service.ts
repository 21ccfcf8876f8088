import { createTokenVerifier } from '../auth/index.ts';
import {
  createHttpApp,
  createLogger,
  createMetricsRegistry,
  listenOn,
  type RunningService,
  runningService,
} from '../common/index.ts';
import { createBrokerDirectory } from './broker-directory.ts';
import { createCallerAuth } from './caller-auth.ts';
import { createDiscoveryMetrics } from './discovery-metrics.ts';
import { registerDiscoveryRoutes } from './discovery-routes.ts';
import {
  type DiscoveryServiceOptions,
  resolveDiscoveryServiceOptions,
} from './discovery-service-options.ts';
import { WATCH_PATH } from './watch-frames.ts';
import { createWatchHub, type WatchHub } from './watch-hub.ts';
import { attachWatchServer } from './watch-server.ts';

export interface DiscoveryService extends RunningService {
  /** `ws://host:port/watch`, where watchers open their WebSocket. */
  readonly watchUrl: string;
}

/** Starts the discovery service; resolves once it listens. */
export async function startDiscoveryService(
  options: DiscoveryServiceOptions,
): Promise<DiscoveryService> {
  const config = resolveDiscoveryServiceOptions(options);
  const logger = config.logger ?? createLogger('discovery', config.logLevel);
  const verifier =
    config.verifier ??
    createTokenVerifier({
      jwksUrl: config.jwksUrl ?? '',
      issuer: config.issuer,
      audience: config.audience,
      clock: config.clock,
    });

  // The hub exists before the directory reports its first change; the metrics read both.
  let hub: WatchHub | undefined;
  const registry = createMetricsRegistry('discovery');
  const directory = createBrokerDirectory({
    clock: config.clock,
    maxTopicsPerBroker: config.maxTopicsPerBroker,
    maxInterestPerBroker: config.maxInterestPerBroker,
    onChange: (change) => {
      if (change.type === 'left') {
        if (change.reason === 'expired') metrics.leaseExpiries.inc();
        logger.info({ id: change.broker.id, reason: change.reason }, 'broker left');
      }
      hub?.publish(change);
    },
  });
  let watchSockets = () => 0;
  const metrics = createDiscoveryMetrics(registry, {
    liveBrokers: () => directory.size,
    watchSockets: () => watchSockets(),
    watches: () => hub?.size ?? 0,
  });
  hub = createWatchHub({
    list: () => directory.list(),
    onPush: (event) => metrics.eventsPushed.inc({ type: event.type }),
    onSinkError: (error) => logger.error({ err: error }, 'watch event not delivered'),
  });
  const auth = createCallerAuth(verifier, metrics);

  const app = createHttpApp({ logger, metrics: registry, bodyLimit: config.bodyLimitBytes });
  registerDiscoveryRoutes(app, { directory, auth, metrics, logger, config });
  const watchServer = attachWatchServer(app.server, {
    hub,
    auth,
    clock: config.clock,
    logger,
    metrics,
    maxWatchesPerSocket: config.maxWatchesPerSocket,
    maxWatchBufferBytes: config.maxWatchBufferBytes,
    maxWatchFrameBytes: config.maxWatchFrameBytes,
    heartbeatMs: config.watchHeartbeatMs,
  });
  watchSockets = () => watchServer.sockets;

  const url = await listenOn(app, config.host, config.port).catch(async (error: unknown) => {
    await watchServer.close();
    await app.close();
    directory.close();
    throw error;
  });
  const watchUrl = `${url.replace(/^http/, 'ws')}${WATCH_PATH}`;
  logger.info({ url, watchUrl }, 'discovery service listening');
  return runningService(
    url,
    async () => {
      // Upgraded sockets no longer belong to the HTTP server, so they are closed first.
      await watchServer.close();
      await app.close();
      directory.close();
      logger.info({ url }, 'discovery service closed');
    },
    { watchUrl },
  );
}
