import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { createTokenSource, createTokenVerifier, JWKS_PATH } from '../auth/index.ts';
import {
  createHttpApp,
  createLogger,
  createMetricsRegistry,
  listenOn,
  type RunningService,
  runningService,
} from '../common/index.ts';
import { createDiscoveryClient } from '../discovery/index.ts';
import { MqfedError, topicScopesSchema } from '../protocol/index.ts';
import { createBrokerMetrics } from './broker-metrics.ts';
import {
  type BrokerServiceOptions,
  resolveBrokerServiceOptions,
} from './broker-service-options.ts';
import { startDiscoveryPresence } from './discovery-presence.ts';
import { createDurablePersistence, SESSION_DB_FILE } from './durable-persistence.ts';
import { openFederationDb } from './federation-db.ts';
import { createMemoryStore } from './federation-store.ts';
import { InterestTable } from './interest-table.ts';
import { attachLinkServer, PEER_LINK_PATH } from './link-server.ts';
import { trackLocalInterest } from './local-interest.ts';
import { startMqttServer } from './mqtt-server.ts';
import { startPeerDirectory } from './peer-directory.ts';
import type { LinkEvent } from './peer-link.ts';
import { type LinkSnapshot, PeerLinks } from './peer-links.ts';
import { TopicSpace } from './topic-space.ts';

export interface BrokerService extends RunningService {
  readonly id: string;
  /** `mqtt://host:port`, where MQTT clients connect. */
  readonly mqttUrl: string;
  /** `ws://host:port/mqtt`, when MQTT over WebSocket is on. */
  readonly mqttWsUrl: string | undefined;
  /** `ws://host:port/peer`, the peer-link server registered with discovery. */
  readonly linkUrl: string;
  /** Link events (`link-open`, `link-closed`, `subscribe-ack`, ...), each named by its type. */
  readonly events: EventEmitter<{ [K in LinkEvent['type']]: [Extract<LinkEvent, { type: K }>] }>;
  /** The links and what flows over them, sorted by peer. */
  links(): LinkSnapshot[];
  /** Filters this broker advertises to discovery. */
  advertisedTopics(): string[];
}

/**
 * Starts a broker service: an embedded aedes broker whose clients' publishes reach subscribers on
 * other brokers over interest-based peer links. Resolves once it listens and has made its first
 * attempt to register with discovery (it keeps retrying in the background).
 */
export async function startBrokerService(options: BrokerServiceOptions): Promise<BrokerService> {
  const config = resolveBrokerServiceOptions(options);
  const logger = config.logger ?? createLogger(`broker ${config.id}`, config.logLevel);
  const tokenSource =
    config.tokenSource ??
    createTokenSource({
      authUrl: config.authUrl ?? '',
      id: config.id,
      secret: config.secret ?? '',
      clock: config.clock,
    });
  const verifier =
    config.verifier ??
    createTokenVerifier({
      jwksUrl: `${config.authUrl ?? ''}${JWKS_PATH}`,
      issuer: config.issuer,
      audience: config.audience,
      clock: config.clock,
    });
  // Fails fast on wrong credentials, and tells what this broker may consume from peers.
  const firstToken = await tokenSource.current();
  const scope = topicScopesSchema.parse(decodeJwt(firstToken).topics);

  const events: BrokerService['events'] = new EventEmitter();
  const interest = new InterestTable();
  const topicSpace = new TopicSpace({
    idleMs: config.topicIdleMs,
    maxTopics: config.maxAdvertisedTopics,
    filters: config.declaredTopics,
  });
  const registry = createMetricsRegistry('broker');
  const store =
    config.dataDir === undefined ? createMemoryStore() : openFederationDb(config.dataDir);
  if (config.dataDir === undefined) {
    logger.warn(
      'no data directory: QoS 1 publishes waiting for peers, delivery positions and MQTT ' +
        'sessions are kept in memory only and a restart loses them (set --data-dir)',
    );
  }
  const closers: (() => Promise<void>)[] = [
    async () => store.close(),
    async () => tokenSource.close(),
  ];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };

  try {
    let onClientPublish: (topic: string, payload: Buffer, qos: 0 | 1, retain: boolean) => boolean =
      () => true;
    // With a data directory, MQTT sessions survive a crash too: subscriptions and queued QoS 1
    // messages of persistent sessions, in-flight messages, retained messages and wills.
    const persistence =
      config.dataDir === undefined
        ? undefined
        : createDurablePersistence({ path: join(config.dataDir, SESSION_DB_FILE), logger });
    // aedes does not close its persistence; this runs after the MQTT server closed.
    if (persistence !== undefined) closers.push(() => persistence.destroy());
    const mqtt = await startMqttServer({
      id: config.id,
      host: config.host,
      port: config.mqttPort,
      wsPort: config.mqttWsPort,
      hooks: {
        ...(persistence === undefined ? {} : { persistence }),
        /**
         * [design] Forwarding happens here, the last step before aedes acknowledges a QoS 1
         * publish to its client (aedes 1.2 writes the PUBACK before it processes the publish):
         * once this returns, the publish is in every interested peer's outbox, and with a
         * data directory on disk. A publish an outbox refused is refused to the client, which
         * then sends it again rather than believing it delivered.
         */
        authorizePublish(_client, packet, callback) {
          const queued = onClientPublish(
            packet.topic,
            packet.payload as Buffer,
            packet.qos === 0 ? 0 : 1,
            packet.retain,
          );
          if (!queued) {
            callback(new MqfedError('OUTBOX_FULL'));
            return;
          }
          // The PUBACK waits for the outbox's group commit (one per event-loop turn).
          store.afterCommit((error) => callback(error ?? null));
        },
      },
    });
    closers.push(() => mqtt.close());
    const { aedes } = mqtt;

    let links: PeerLinks | undefined;
    const metrics = createBrokerMetrics(registry, {
      clients: () => aedes.connectedClients,
      subscriptions: () => interest.size,
      linksByState: () => links?.states() ?? { connecting: 0, open: 0, idle: 0 },
      outbox: () => links?.outboxTotals() ?? { messages: 0, bytes: 0 },
    });
    links = new PeerLinks(
      {
        selfId: config.id,
        store,
        maxPayloadBytes: config.maxPayloadBytes,
        pingIntervalMs: config.pingIntervalMs,
        linkIdleGraceMs: config.linkIdleGraceMs,
        reconnectBaseMs: config.reconnectBaseMs,
        reconnectMaxMs: config.reconnectMaxMs,
        outboxHighWaterBytes: config.outboxHighWaterBytes,
        outboxMaxBytes: config.outboxMaxBytes,
        outboxMaxAgeMs: config.outboxMaxAgeMs,
        maxPeerFilters: config.maxPeerFilters,
        maxPeerFilterBytes: config.maxPeerFilterBytes,
        clock: config.clock,
        random: config.random,
        metrics,
        logger,
        tokenSource,
        verifier,
        // Delivered without a client, so the publish event below never forwards it: one hop.
        deliver: (frame, done) =>
          aedes.publish(
            {
              cmd: 'publish',
              topic: frame.topic,
              payload: Buffer.from(frame.payload),
              qos: frame.qos,
              retain: frame.retain,
              dup: false,
            },
            done,
          ),
        emit: (event) => events.emit(event.type, event as never),
      },
      interest,
      scope.sub,
    );
    const peerLinks = links;

    // A burst of subscribes or disconnects (a reconnect storm) costs one refresh per turn.
    let refreshQueued = false;
    let presence: ReturnType<typeof startDiscoveryPresence> | undefined;
    trackLocalInterest(
      aedes,
      interest,
      () => {
        if (refreshQueued) return;
        refreshQueued = true;
        setImmediate(() => {
          refreshQueued = false;
          peerLinks.refreshAll();
          presence?.interestChanged();
        });
      },
      // Persistent sessions restored from the data directory want their data while away.
      persistence?.persistentSubscriptions() ?? [],
    );
    // Only what local clients publish is advertised and forwarded: deliveries from peers and
    // aedes' own $SYS messages never pass authorizePublish.
    onClientPublish = (topic, payload, qos, retain) => {
      topicSpace.observe(topic, config.clock.now());
      if (topicSpace.pending) presence?.topicsChanged();
      return peerLinks.forward(topic, payload, qos, retain);
    };

    const app = createHttpApp({ logger, metrics: registry, bodyLimit: 64 * 1024 });
    const linkServer = attachLinkServer(app.server, {
      selfId: config.id,
      verifier,
      maxPayloadBytes: config.maxPayloadBytes,
      metrics,
      logger,
      acceptsInbound: (peerId) => peerLinks.acceptsInbound(peerId),
      onLink: (ws, claims) => peerLinks.attachInbound(ws, claims),
    });
    const url = await listenOn(app, config.host, config.httpPort).catch(async (error) => {
      await app.close();
      throw error;
    });
    closers.push(async () => {
      await linkServer.close();
      await app.close();
    });
    // Closed before the link server, so no link redials a peer while the service goes down.
    closers.push(() => peerLinks.close());
    const port = new URL(url).port;
    const linkHost = config.advertisedHost ?? hostForUrl(config.host);
    const linkUrl = `ws://${linkHost}:${port}${PEER_LINK_PATH}`;

    const discovery = createDiscoveryClient({
      url: config.discoveryUrl,
      token: () => tokenSource.current(),
    });
    const directory = startPeerDirectory({
      selfId: config.id,
      discovery,
      filters: scope.sub,
      interestFilters: scope.pub,
      onChange: (peerId) => peerLinks.refresh(peerId),
      peerRoutes: config.peerRoutes,
      logger,
      reconnectBaseMs: config.reconnectBaseMs,
      reconnectMaxMs: config.reconnectMaxMs,
      random: config.random,
    });
    closers.push(() => directory.close());
    peerLinks.useDirectory(directory);
    const started = startDiscoveryPresence({
      id: config.id,
      linkUrl,
      leaseTtlMs: config.leaseTtlMs,
      advertiseDebounceMs: config.advertiseDebounceMs,
      interestDebounceMs: config.interestDebounceMs,
      interest: () => peerLinks.narrowedInterest(),
      topicIdleMs: config.topicIdleMs,
      discovery,
      topicSpace,
      clock: config.clock,
      logger,
      metrics,
      reconnectBaseMs: config.reconnectBaseMs,
      reconnectMaxMs: config.reconnectMaxMs,
      random: config.random,
    });
    presence = started;
    // Deregister first on close, so peers stop dialing before the link server goes away.
    closers.push(() => started.close());
    await Promise.all([started.firstAttempt, directory.ready]);
    logger.info({ mqttUrl: mqtt.mqttUrl, url, linkUrl }, 'broker service listening');

    return runningService(url, closeAll, {
      id: config.id,
      mqttUrl: mqtt.mqttUrl,
      mqttWsUrl: mqtt.wsUrl,
      linkUrl,
      events,
      links: () => peerLinks.snapshot(),
      advertisedTopics: () => topicSpace.advertised(),
    });
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** A wildcard listen address is no address to dial: peers on this host use loopback. */
function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
