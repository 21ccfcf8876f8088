import { EventEmitter } from 'node:events';
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
import { topicScopesSchema } from '../protocol/index.ts';
import { createBrokerMetrics } from './broker-metrics.ts';
import {
  type BrokerServiceOptions,
  resolveBrokerServiceOptions,
} from './broker-service-options.ts';
import { startDiscoveryPresence } from './discovery-presence.ts';
import { InterestTable } from './interest-table.ts';
import { attachLinkServer, PEER_LINK_PATH } from './link-server.ts';
import { trackLocalInterest } from './local-interest.ts';
import { startMqttServer } from './mqtt-server.ts';
import { startPeerDirectory } from './peer-directory.ts';
import type { LinkEvent } from './peer-link.ts';
import { type LinkSnapshot, PeerLinks } from './peer-links.ts';
import { SequenceTracker } from './sequence-tracker.ts';
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
  const closers: (() => Promise<void>)[] = [async () => tokenSource.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };

  try {
    const mqtt = await startMqttServer({
      id: config.id,
      host: config.host,
      port: config.mqttPort,
      wsPort: config.mqttWsPort,
    });
    closers.push(() => mqtt.close());
    const { aedes } = mqtt;

    let links: PeerLinks | undefined;
    const metrics = createBrokerMetrics(registry, {
      clients: () => aedes.connectedClients,
      subscriptions: () => interest.size,
      linksByState: () => links?.states() ?? { connecting: 0, open: 0, idle: 0 },
    });
    links = new PeerLinks(
      {
        selfId: config.id,
        epoch: config.clock.now(),
        maxPayloadBytes: config.maxPayloadBytes,
        pingIntervalMs: config.pingIntervalMs,
        linkIdleGraceMs: config.linkIdleGraceMs,
        reconnectBaseMs: config.reconnectBaseMs,
        reconnectMaxMs: config.reconnectMaxMs,
        outboxHighWaterBytes: config.outboxHighWaterBytes,
        clock: config.clock,
        random: config.random,
        metrics,
        logger,
        tokenSource,
        verifier,
        sequences: new SequenceTracker(),
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
    trackLocalInterest(aedes, interest, () => {
      if (refreshQueued) return;
      refreshQueued = true;
      setImmediate(() => {
        refreshQueued = false;
        peerLinks.refreshAll();
      });
    });
    let presence: ReturnType<typeof startDiscoveryPresence> | undefined;
    aedes.on('publish', (packet, client) => {
      // Only what local clients publish is advertised and forwarded (client is null for
      // deliveries from peers and for aedes' own $SYS messages).
      if (client === null) return;
      topicSpace.observe(packet.topic, config.clock.now());
      if (topicSpace.pending) presence?.topicsChanged();
      peerLinks.forward(
        packet.topic,
        packet.payload as Buffer,
        packet.qos === 0 ? 0 : 1,
        packet.retain,
      );
    });

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
