import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import {
  createRevocationWatch,
  createTokenVerifier,
  createTokenWallet,
  JWKS_PATH,
  registerRevocationMetrics,
  revocationFeedUrl,
  withRevocations,
} from '../auth/index.ts';
import {
  createHttpApp,
  createLogger,
  createMetricsRegistry,
  fetchTrusting,
  isLoopbackHost,
  listenOn,
  type RunningService,
  runningService,
} from '../common/index.ts';
import { createDiscoveryClient } from '../discovery/index.ts';
import { audienceFor, brokerTarget, MqfedError, topicScopesSchema } from '../protocol/index.ts';
import { createBrokerMetrics } from './broker-metrics.ts';
import {
  type BrokerServiceOptions,
  resolveBrokerServiceOptions,
} from './broker-service-options.ts';
import { deliveryDup } from './delivery-dup.ts';
import { startDiscoveryPresence } from './discovery-presence.ts';
import { createDurablePersistence, SESSION_DB_FILE } from './durable-persistence.ts';
import { openFederationDb } from './federation-db.ts';
import { createMemoryStore } from './federation-store.ts';
import { InterestTable } from './interest-table.ts';
import { LinkHeartbeat } from './link-heartbeat.ts';
import { attachLinkServer, PEER_LINK_PATH } from './link-server.ts';
import { trackLocalInterest } from './local-interest.ts';
import type { ClientRefusalReason } from './mqtt-client-refusals.ts';
import { clientGuardFor } from './mqtt-clients.ts';
import { startMqttServer } from './mqtt-server.ts';
import { createPeerApi, type PeerApiCaller } from './peer-api.ts';
import { startPeerDirectory } from './peer-directory.ts';
import type { LinkEvent } from './peer-link.ts';
import { type LinkSnapshot, PeerLinks } from './peer-links.ts';
import { createRetainedFederation } from './retained-federation.ts';
import { type SessionDirectory, SessionHandover } from './session-handover.ts';
import { createSessionMetrics } from './session-metrics.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { TopicSpace } from './topic-space.ts';
import { discardWill } from './will-discard.ts';
import { publishRestoredWills } from './will-sweep.ts';

export interface BrokerService extends RunningService {
  readonly id: string;
  /** `mqtt://host:port`, plain MQTT (on loopback only when the service has TLS). */
  readonly mqttUrl: string;
  /** `mqtts://host:port`, MQTT over TLS, when the service has TLS. */
  readonly mqttsUrl: string | undefined;
  /** `ws://host:port/mqtt` (`wss://` with TLS), when MQTT over WebSocket is on. */
  readonly mqttWsUrl: string | undefined;
  /** `ws://host:port/peer` (`wss://` with TLS), the peer-link server registered with discovery. */
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
  const tokens =
    config.tokens ??
    createTokenWallet({
      authUrl: config.authUrl ?? '',
      id: config.id,
      secret: config.secret ?? '',
      tls: config.tls,
      clock: config.clock,
    });
  const feedUrl =
    config.revocationFeedUrl ??
    (config.authUrl === undefined ? undefined : revocationFeedUrl(config.authUrl));
  const ownsRevocations = config.revocations === undefined;
  const revocations =
    config.revocations ??
    (feedUrl === undefined
      ? undefined
      : createRevocationWatch({ url: feedUrl, clock: config.clock, logger, tls: config.tls }));
  // Peers' tokens (link upgrades and TOKEN_REFRESH) are checked against the revocations too.
  const verifier = withRevocations(
    config.verifier ??
      createTokenVerifier({
        jwksUrl: `${config.authUrl ?? ''}${JWKS_PATH}`,
        issuer: config.issuer,
        audience: audienceFor(config.audience, brokerTarget(config.id)),
        clock: config.clock,
        fetch: fetchTrusting(config.tls),
      }),
    revocations,
  );
  const discoveryTokens = tokens.source('discovery');
  const closeRevocations = () => {
    if (ownsRevocations) revocations?.close();
  };
  // Fails fast on wrong credentials, and tells what this broker may consume from peers.
  const firstToken = await discoveryTokens.current().catch((error: unknown) => {
    closeRevocations();
    throw error;
  });
  const scope = topicScopesSchema.parse(decodeJwt(firstToken).topics);

  const events: BrokerService['events'] = new EventEmitter();
  const interest = new InterestTable();
  const topicSpace = (() => {
    try {
      return new TopicSpace({
        idleMs: config.topicIdleMs,
        maxTopics: config.maxAdvertisedTopics,
        filters: config.declaredTopics,
        scope: scope.pub,
      });
    } catch (error) {
      closeRevocations();
      throw error;
    }
  })();
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
    async () => tokens.close(),
    async () => closeRevocations(),
  ];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };

  try {
    let handover: SessionHandover | undefined;
    let onClientPublish: (topic: string, payload: Buffer, qos: 0 | 1, retain: boolean) => boolean =
      () => true;
    // With a data directory, MQTT sessions survive a crash too: subscriptions and queued QoS 1
    // messages of persistent sessions, in-flight messages, retained messages and wills.
    // [design] Without one, the same store runs on an in-memory database: one code path for
    // sessions and retained messages, which the federation reads and moves (session handover,
    // retained fetches), whether or not they also go to disk.
    const persistence = createDurablePersistence({
      path: config.dataDir === undefined ? ':memory:' : join(config.dataDir, SESSION_DB_FILE),
      logger,
      retained: {
        clock: config.clock,
        tombstoneMs: config.retainedTombstoneMs,
        maxTombstones: config.maxRetainedTombstones,
      },
    });
    // aedes does not close its persistence; this runs after the MQTT server closed.
    closers.push(() => persistence.destroy());
    // Refusals while the listeners start, before the metrics below exist, are counted later.
    const early: ClientRefusalReason[] = [];
    let countRefusal: (reason: ClientRefusalReason) => void = (reason) => {
      early.push(reason);
    };
    const guard = clientGuardFor(config, verifier, logger, (reason) => countRefusal(reason));
    closers.push(async () => guard.close());
    // Retained messages federation-wide: versions, fetches from peers, advertising (RET).
    const retained = createRetainedFederation({
      ...config,
      persistence,
      guard,
      registry,
      logger,
      scope: scope.sub,
    });
    const mqtt = await startMqttServer({
      id: config.id,
      host: config.host,
      port: config.mqttPort,
      // [design] With TLS, plain MQTT stays for tools on this machine only (Mosquitto 2's
      // local-only mode); without it the embedder chose plain text, wherever it binds.
      plainHost:
        config.tls === undefined || isLoopbackHost(config.host) ? config.host : '127.0.0.1',
      tls: config.tls,
      tlsPort: config.tls === undefined ? undefined : config.mqttsPort,
      insecure: config.tls === undefined,
      wsPort: config.mqttWsPort,
      maxPacketBytes: config.maxPacketBytes,
      onPacketTooLarge: () => countRefusal('packet_size'),
      hooks: {
        persistence,
        // CONNECT, SUBSCRIBE and deliveries to clients: who they are, what they may, limits.
        ...guard.hooks,
        authorizeForward(client, packet) {
          const allowed = guard.hooks.authorizeForward(client, packet);
          if (allowed === null || allowed === undefined) return allowed;
          return deliveryDup(client, allowed, handover?.justMoved(client) ?? false);
        },
        // [design] After the client is authenticated and before aedes looks for its session,
        // the session comes here if another broker holds it (session-handover.ts).
        authenticate(client, username, password, done) {
          guard.hooks.authenticate(client, username, password, (error, accepted) => {
            if (error !== null || !accepted || handover === undefined) {
              done(error, accepted);
              return;
            }
            const owner = guard.principalOf(client)?.id ?? null;
            // A failed move leaves the client with what this broker has, never without a CONNACK.
            void handover
              .connecting(client, owner)
              .catch((failure: unknown) =>
                logger.error({ err: failure, clientId: client.id }, 'session handover failed'),
              )
              .finally(() => done(null, true));
          });
        },
        /**
         * [design] Forwarding happens here, the last step before aedes acknowledges a QoS 1
         * publish to its client (aedes 1.2 writes the PUBACK before it processes the publish):
         * once this returns, the publish is in every interested peer's outbox, and with a
         * data directory on disk. A publish an outbox refused is refused to the client, which
         * then sends it again rather than believing it delivered.
         */
        authorizePublish(client, packet, callback) {
          // The client's scope and limits first: a refused publish reaches no peer.
          guard.authorizePublish(client, packet, callback, () => {
            const queued = onClientPublish(
              packet.topic,
              packet.payload as Buffer,
              packet.qos === 0 ? 0 : 1,
              packet.retain,
            );
            if (!queued) {
              callback(new MqfedError('OUTBOX_FULL'));
              return false;
            }
            // The PUBACK waits for the outbox's group commit (one per event-loop turn).
            store.afterCommit((error) => callback(error ?? null));
            return true;
          });
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
      retained: () => guard.retained(),
    });
    countRefusal = (reason) => metrics.clientRefusals.inc({ reason });
    for (const reason of early.splice(0)) countRefusal(reason);
    await guard.attach(aedes);
    links = new PeerLinks(
      {
        selfId: config.id,
        store,
        maxPayloadBytes: config.maxPayloadBytes,
        heartbeat: new LinkHeartbeat(config.pingIntervalMs),
        linkIdleGraceMs: config.linkIdleGraceMs,
        reconnectBaseMs: config.reconnectBaseMs,
        reconnectMaxMs: config.reconnectMaxMs,
        outboxHighWaterBytes: config.outboxHighWaterBytes,
        outboxMaxBytes: config.outboxMaxBytes,
        outboxMaxAgeMs: config.outboxMaxAgeMs,
        maxPeerFilters: config.maxPeerFilters,
        maxPeerFilterBytes: config.maxPeerFilterBytes,
        verifyDeadlineMs: config.peerVerifyDeadlineMs,
        clock: config.clock,
        random: config.random,
        metrics,
        logger,
        tokens,
        tls: config.tls,
        verifier,
        // Delivered without a client, so the publish event below never forwards it: one hop.
        deliver: (frame, done) => {
          // A peer's retained message is kept only if newer than what is held and within the
          // broker-wide bounds (retained-federation.ts); else it is delivered but not kept.
          const kept = frame.retain ? retained.keepFromPeer(frame) : undefined;
          aedes.publish(
            {
              cmd: 'publish',
              topic: frame.topic,
              payload: kept ?? Buffer.from(frame.payload),
              qos: frame.qos,
              retain: kept !== undefined,
              // A resend the receiver could not rule out as a duplicate: DUP, as MQTT allows.
              dup: frame.dup,
            },
            done,
          );
        },
        emit: (event) => events.emit(event.type, event as never),
      },
      interest,
      scope.sub,
    );
    const peerLinks = links;
    if (revocations !== undefined) {
      registerRevocationMetrics(registry, revocations);
      revocations.onEntry((entry) => {
        // [design] Pushed: a revoked peer's link closes now, not when its token would expire.
        const closed = peerLinks.closeRevoked(revocations);
        if (closed.length > 0) logger.warn({ peers: closed, seq: entry.seq }, 'revoked peers cut');
        if (entry.kind === 'subject' && entry.sub === config.id) {
          // Our own tokens: the next refresh will fail too; the operator must act.
          logger.error({ reason: entry.reason }, "this broker's own tokens were revoked");
        } else if (entry.kind === 'token') {
          // Our discovery token revoked by its jti: fetch a fresh one now, before renewals fail.
          // (Peer tokens are fetched afresh when a peer refuses them; see link-dialing.ts.)
          void discoveryTokens
            .current()
            .then(async (token) => {
              const { sub = '', iat = 0, jti = '' } = decodeJwt(token);
              if (revocations.isRevoked({ sub, iat, jti })) await discoveryTokens.refresh();
            })
            .catch((error: unknown) => logger.warn({ err: error }, 'no fresh discovery token'));
        }
      });
    }

    // A client whose registration was revoked or whose secret was rotated is disconnected, and
    // its remembered logins forgotten: it must authenticate again.
    revocations?.onEntry((entry) => {
      const closed =
        entry.kind === 'subject' ? guard.revoke(entry.sub) : guard.revokeToken(entry.jti);
      if (closed > 0) logger.warn({ kind: entry.kind, closed }, 'revoked MQTT clients cut');
    });

    // A burst of subscribes or disconnects (a reconnect storm) costs one refresh per turn.
    let refreshQueued = false;
    let presence: ReturnType<typeof startDiscoveryPresence> | undefined;
    const sessionInterest = trackLocalInterest(
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
      persistence.persistentSubscriptions(),
    );
    // Only what local clients publish is advertised and forwarded: deliveries from peers and
    // aedes' own $SYS messages never pass authorizePublish.
    onClientPublish = (topic, payload, qos, retain) => {
      topicSpace.observe(topic, config.clock.now());
      if (topicSpace.pending) presence?.topicsChanged();
      const versionTime = retain ? retained.versionLocal(topic, payload) : undefined;
      return peerLinks.forward(topic, payload, qos, retain, versionTime);
    };
    // Topics holding a retained message of a local client stay advertised while held.
    persistence.retainedVersions.onOwnTopic((topic, held) => {
      topicSpace.hold(topic, held);
      if (topicSpace.pending) presence?.topicsChanged();
    });

    let directoryRef: ReturnType<typeof startPeerDirectory> | undefined;
    let linkUrlAtDiscovery = async (_peerId: string): Promise<string | undefined> => undefined;
    const app = createHttpApp({
      logger,
      metrics: registry,
      bodyLimit: 64 * 1024,
      tls: config.tls,
      timeouts: config.httpTimeouts,
    });
    // Requests of peers (session moves, retained fetches) are routed under PEER_API_PREFIX.
    const peerApi = createPeerApi({ selfId: config.id, verifier, metrics });
    const peerCaller: PeerApiCaller = {
      // A peer this broker has no data from is not in its directory: discovery knows it.
      linkUrlOf: async (peerId, hint) =>
        config.peerRoutes[peerId] ??
        hint ??
        directoryRef?.get(peerId)?.linkUrl ??
        (await linkUrlAtDiscovery(peerId)),
      tokenFor: (peerId) => tokens.source(brokerTarget(peerId)).current(),
      tls: config.tls,
    };
    const linkServer = attachLinkServer(app.server, {
      selfId: config.id,
      verifier,
      maxPayloadBytes: config.maxPayloadBytes,
      metrics,
      logger,
      acceptsInbound: (peerId) => peerLinks.acceptsInbound(peerId),
      onLink: (ws, claims) => peerLinks.attachInbound(ws, claims),
    });
    // Peer API routes: registered here, before the app listens.
    let sessionDirectory: SessionDirectory | undefined;
    const sessions = new SessionHandover({
      selfId: config.id,
      aedes,
      persistence,
      directory: () => sessionDirectory,
      caller: peerCaller,
      interest: sessionInterest,
      discardWill,
      relayMs: config.sessionRelayMs,
      callTimeoutMs: config.sessionCallTimeoutMs,
      pageBytes: config.sessionPageBytes,
      maxMessages: config.maxMovedMessages,
      metrics: createSessionMetrics(registry),
      logger,
    });
    handover = sessions;
    closers.push(async () => sessions.close());
    aedes.on('clientDisconnect', (client) => sessions.disconnected(client));
    registerSessionRoutes(app, peerApi, sessions, config.sessionPageBytes);
    retained.registerRoutes(app, peerApi);
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
    const linkUrl = `${config.tls === undefined ? 'ws' : 'wss'}://${linkHost}:${port}${PEER_LINK_PATH}`;

    const discovery = createDiscoveryClient({
      url: config.discoveryUrl,
      token: () => discoveryTokens.current(),
      tls: config.tls,
    });
    linkUrlAtDiscovery = async (peerId) => {
      const record = (await discovery.lookup()).find((broker) => broker.id === peerId);
      return record?.linkUrl;
    };
    sessionDirectory = {
      claim: (clientId) => discovery.claimSession(clientId),
      release: (clientId) => discovery.releaseSession(clientId),
      restore: (clientIds) => discovery.restoreSessions(config.id, clientIds),
      lookup: (clientId) => discovery.lookupSession(clientId),
    };
    const directory = startPeerDirectory({
      selfId: config.id,
      discovery,
      filters: scope.sub,
      interestFilters: scope.pub,
      onChange: (peerId, record) => {
        // A token for every peer discovery shows, fetched ahead: links to it open even while
        // the auth service is down (token-wallet.ts).
        if (record === undefined) tokens.letGo(brokerTarget(peerId));
        else tokens.keepFresh(brokerTarget(peerId));
        peerLinks.refresh(peerId);
      },
      peerRoutes: config.peerRoutes,
      logger,
      reconnectBaseMs: config.reconnectBaseMs,
      reconnectMaxMs: config.reconnectMaxMs,
      random: config.random,
    });
    directoryRef = directory;
    retained.fetchFrom(directory, peerCaller);
    closers.push(() => directory.close());
    peerLinks.useDirectory(directory);
    const started = startDiscoveryPresence({
      id: config.id,
      // A restarted discovery service learns again which sessions this broker holds.
      onRegistered: () => {
        void sessions
          .registered()
          .catch((error: unknown) =>
            logger.warn(
              { err: error },
              'session directory not restored; retried at the next registration',
            ),
          );
      },
      linkUrl,
      leaseTtlMs: config.leaseTtlMs,
      advertiseDebounceMs: config.advertiseDebounceMs,
      interestDebounceMs: config.interestDebounceMs,
      interest: () => peerLinks.narrowedInterest(),
      maxInterest: config.maxAdvertisedInterest,
      interestScope: scope.sub,
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
    // The routes of the first snapshot, which PeerLinks would otherwise set up next turn.
    peerLinks.settle();
    // Wills of connections that died with the previous process, now that peers' interest is
    // known (will-sweep.ts). Stopped first on close.
    const restoredWills = publishRestoredWills({ aedes, persistence, logger });
    closers.push(() => restoredWills.stop());
    logger.info(
      { mqttUrl: mqtt.mqttUrl, mqttsUrl: mqtt.mqttsUrl, url, linkUrl },
      'broker service listening',
    );

    return runningService(url, closeAll, {
      id: config.id,
      mqttUrl: mqtt.mqttUrl,
      mqttsUrl: mqtt.mqttsUrl,
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
