import {
  createRevocationWatch,
  createTokenVerifier,
  registerRevocationMetrics,
  withRevocations,
} from '../auth/index.ts';
import {
  createHttpApp,
  createLogger,
  createMetricsRegistry,
  fetchTrusting,
  listenOn,
  type RunningService,
  runningService,
} from '../common/index.ts';
import { audienceFor } from '../protocol/index.ts';
import { createBrokerDirectory } from './broker-directory.ts';
import { createCallerAuth } from './caller-auth.ts';
import { createDiscoveryMetrics } from './discovery-metrics.ts';
import { registerDiscoveryRoutes } from './discovery-routes.ts';
import {
  type DiscoveryServiceOptions,
  resolveDiscoveryServiceOptions,
} from './discovery-service-options.ts';
import { createSessionDirectory } from './session-directory.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { WATCH_PATH } from './watch-frames.ts';
import { createWatchHub, type WatchHub } from './watch-hub.ts';
import { createWatchQuota } from './watch-quota.ts';
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
  const ownsRevocations = config.revocations === undefined;
  const revocations =
    config.revocations ??
    (config.revocationFeedUrl === undefined
      ? undefined
      : createRevocationWatch({
          url: config.revocationFeedUrl,
          clock: config.clock,
          logger,
          tls: config.tls,
        }));
  const verifier = withRevocations(
    config.verifier ??
      createTokenVerifier({
        jwksUrl: config.jwksUrl ?? '',
        issuer: config.issuer,
        audience: audienceFor(config.audience, 'discovery'),
        clock: config.clock,
        fetch: fetchTrusting(config.tls),
      }),
    revocations,
  );

  // The hub exists before the directory reports its first change; the metrics read both.
  let hub: WatchHub | undefined;
  const registry = createMetricsRegistry('discovery');
  const sessions = createSessionDirectory({
    clock: config.clock,
    maxSessionsPerBroker: config.maxSessionsPerBroker,
    maxSessions: config.maxSessions,
    orphanTtlMs: config.sessionOrphanTtlMs,
    // [design] Expired orphans are also dropped whenever a request touches them, so the sweep only
    // returns their memory and may be slow.
    sweepIntervalMs: Math.min(config.sessionOrphanTtlMs, 60_000),
    onLimit: (limit) => metrics.limitRefusals.inc({ limit }),
    onOrphansDropped: (holder, count) =>
      logger.info({ holder, count }, 'sessions of a broker without a lease dropped'),
  });
  const directory = createBrokerDirectory({
    clock: config.clock,
    maxTopicsPerBroker: config.maxTopicsPerBroker,
    maxInterestPerBroker: config.maxInterestPerBroker,
    onLimit: (limit) => metrics.limitRefusals.inc({ limit }),
    onChange: (change) => {
      // Sessions outlive a lease, but not a broker that stays away (sessionOrphanTtlMs).
      if (change.type === 'registered') sessions.brokerJoined(change.broker.id);
      if (change.type === 'left') {
        sessions.brokerLeft(change.broker.id);
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
    sessions: () => sessions.size,
  });
  hub = createWatchHub({
    list: () => directory.list(),
    onPush: (event) => metrics.eventsPushed.inc({ type: event.type }),
    onSinkError: (error) => logger.error({ err: error }, 'watch event not delivered'),
  });
  const auth = createCallerAuth(verifier, metrics);
  if (revocations !== undefined) {
    registerRevocationMetrics(registry, revocations);
    // A revoked or rotated broker leaves every view at once; its watches close on their own
    // (watch-connection.ts), and its renewals are refused from now on.
    revocations.onEntry((entry) => {
      if (entry.kind === 'subject' && directory.evict(entry.sub)) {
        logger.warn({ id: entry.sub, reason: entry.reason }, 'revoked broker removed');
      }
    });
  }

  const app = createHttpApp({
    logger,
    metrics: registry,
    bodyLimit: config.bodyLimitBytes,
    tls: config.tls,
    timeouts: config.httpTimeouts,
  });
  registerDiscoveryRoutes(app, { directory, auth, metrics, logger, config });
  registerSessionRoutes(app, {
    sessions,
    auth,
    metrics,
    logger,
    linkUrlOf: (id) => directory.linkUrlOf(id),
  });
  const watchServer = attachWatchServer(app.server, {
    hub,
    auth,
    clock: config.clock,
    logger,
    metrics,
    maxWatchesPerSocket: config.maxWatchesPerSocket,
    quota: createWatchQuota(config.maxWatchesPerSubject),
    maxFiltersPerWatch: config.maxFiltersPerWatch,
    maxWatchFilterBytes: config.maxWatchFilterBytes,
    maxWatchFilterLevels: config.maxWatchFilterLevels,
    maxWatchBufferBytes: config.maxWatchBufferBytes,
    maxWatchFrameBytes: config.maxWatchFrameBytes,
    heartbeatMs: config.watchHeartbeatMs,
    maxSocketsPerSubject: config.maxWatchSocketsPerSubject,
    revocations,
  });
  watchSockets = () => watchServer.sockets;
  const closeRevocations = () => {
    if (ownsRevocations) revocations?.close();
  };

  const url = await listenOn(app, config.host, config.port).catch(async (error: unknown) => {
    await watchServer.close();
    await app.close();
    directory.close();
    sessions.close();
    closeRevocations();
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
      sessions.close();
      closeRevocations();
      logger.info({ url }, 'discovery service closed');
    },
    { watchUrl },
  );
}
