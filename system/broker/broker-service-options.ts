import { z } from 'zod';
import type { RevocationWatch, TokenVerifier, TokenWallet } from '../auth/index.ts';
import {
  type Clock,
  type HttpTimeoutsOption,
  httpTimeoutsSchema,
  type Logger,
  type LogLevel,
  logLevels,
  systemClock,
  type TlsConfig,
  tlsConfigSchema,
} from '../common/index.ts';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  describeIssues,
  MqfedError,
  serviceIdSchema,
  topicFilterSchema,
} from '../protocol/index.ts';

export interface BrokerServiceOptions {
  /** The service id registered with the auth service; also the broker's origin id on links. */
  id: string;
  /** Base URL of the discovery service. */
  discoveryUrl: string;
  /** Base URL of the auth service: tokens come from it, peers' tokens verify against its keys. */
  authUrl?: string;
  /** The secret of `id`; with `authUrl` it makes the token wallet. */
  secret?: string;
  /** Or bring your own (tests, embedding): then `authUrl` and `secret` may be left out. */
  tokens?: TokenWallet;
  /** Verifies tokens made for this broker (`aud` `<audience>:broker:<id>`). */
  verifier?: TokenVerifier;
  /**
   * The auth service's revocations, pushed: links of a revoked peer close at once (TOKEN_REVOKED).
   * Without it, one is made from `revocationFeedUrl`, by default the feed of `authUrl`.
   */
  revocations?: RevocationWatch;
  /** `ws://` or `wss://` URL of the auth service's revocation feed. */
  revocationFeedUrl?: string;
  issuer?: string;
  /** The federation's base audience (see `audienceFor`). */
  audience?: string;
  /** Address every listener binds to. */
  host?: string;
  /** Host name peers use to reach this broker's link server; defaults to `host`. */
  advertisedHost?: string;
  /**
   * TLS on every hop: HTTPS and WSS for the peer-link server, MQTTS (and WSS) for clients, and
   * the CA every outgoing call (auth, discovery, peers) must find the servers signed by. Absent:
   * plain text everywhere, the embedding default; the CLI turns it on. [design]
   */
  tls?: TlsConfig;
  /**
   * Plain MQTT over TCP; 0 picks a free port. With `tls` it binds loopback only (`host` when that
   * is loopback, else 127.0.0.1), so local tools keep working while nothing leaves in clear.
   */
  mqttPort?: number;
  /** MQTT over TLS, with `tls`; 0 picks a free port. */
  mqttsPort?: number;
  /** MQTT over WebSocket at `/mqtt`, for browser clients; off when undefined. */
  mqttWsPort?: number;
  /** HTTP: `/healthz`, `/metrics` and the peer-link server at `/peer`. */
  httpPort?: number;
  /**
   * Peer id → the link URL to dial for it instead of the one it advertises (a NAT or proxy in
   * between; the testbed's emulated network links).
   */
  peerRoutes?: Readonly<Record<string, string>>;
  /** Requested discovery lease lifetime; renewed at a third of it. */
  leaseTtlMs?: number;
  /** Largest PUBLISH payload forwarded or accepted over a peer link. */
  maxPayloadBytes?: number;
  /** An unused link stays open this long, so clients moving back and forth do not churn it. */
  linkIdleGraceMs?: number;
  /** Ping interval on links; a link whose peer missed the previous pong is dropped. */
  pingIntervalMs?: number;
  /** Reconnect backoff: full jitter between 0 and min(max, base * 2^attempt). */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** Topic-space changes are collected this long before one delta goes to discovery. */
  advertiseDebounceMs?: number;
  /** A topic nobody published for this long is withdrawn from the advertisement. */
  topicIdleMs?: number;
  /** Above this many topics the advertisement is collapsed into prefixes (see topic-space.ts). */
  maxAdvertisedTopics?: number;
  /** Filters advertised whether or not a client published on them yet. */
  declaredTopics?: string[];
  /** Above this many bytes unsent in a link's socket, the outbox stops writing until it drains. */
  outboxHighWaterBytes?: number;
  /**
   * Where the broker keeps what must survive a crash: the per-peer outboxes of QoS 1 publishes,
   * what it has delivered from each peer, and its MQTT sessions. Without it all of that is in
   * memory, and a restart loses it (the log says so at start). [design]
   */
  dataDir?: string;
  /** Per peer: the oldest messages are dropped (and counted) when the outbox holds more bytes. */
  outboxMaxBytes?: number;
  /** Per peer: messages the peer has not acknowledged after this long are dropped and counted. */
  outboxMaxAgeMs?: number;
  /** Local interest changes are collected this long before one delta goes to discovery. */
  interestDebounceMs?: number;
  /**
   * Most interest filters advertised to discovery; more are folded into broader filters that
   * cover them (filter-folding.ts). Above discovery's `maxInterestPerBroker`, the first
   * refusal (TOPIC_LIMIT_EXCEEDED, naming that cap) lowers it to discovery's
   * (discovery-presence.ts). The CLI's `--max-advertised-filters`; discovery's is
   * `--max-topics-per-broker`.
   */
  maxAdvertisedInterest?: number;
  /** Per link: filters a peer may hold subscribed here; more are refused. */
  maxPeerFilters?: number;
  /** Per link: total length of those filters. */
  maxPeerFilterBytes?: number;
  /**
   * A peer token still unverified after this long closes its link (KEYS_UNAVAILABLE): reading
   * stops while a token is verified, so a hung verification would hold the link for good.
   */
  peerVerifyDeadlineMs?: number;
  /**
   * Take MQTT clients without credentials, with full access. Without it they are taken only
   * when every client listener binds loopback (Mosquitto 2's local-only mode). [design]
   */
  allowAnonymous?: boolean;
  /** Largest MQTT packet a client may send; a bigger one closes its connection unread. */
  maxPacketBytes?: number;
  /** Retained messages (and their bytes) one client may own, and all clients together. */
  maxRetainedPerClient?: number;
  maxRetainedBytesPerClient?: number;
  maxRetained?: number;
  maxRetainedBytes?: number;
  /** How long a deleted retained message's version (its tombstone) is remembered, ms. */
  retainedTombstoneMs?: number;
  /** Tombstones kept at most; past it the oldest is forgotten first. */
  maxRetainedTombstones?: number;
  /**
   * A new subscription's retained messages wait this long at most for peers' (retained
   * fetch); a peer slower than that only loses its part.
   */
  retainedFetchDeadlineMs?: number;
  /** A retained-fetch answer to a peer holds at most this many messages and payload bytes. */
  retainedFetchMaxMessages?: number;
  retainedFetchMaxBytes?: number;
  /** A peer's retained-fetch answer longer than this is refused while it is read. */
  retainedFetchMaxResponseBytes?: number;
  /**
   * A retained version from a peer (fetched or over a link) further ahead of this broker's
   * clock than this is not stored: a future-dated version would block every later update.
   */
  retainedMaxClockSkewMs?: number;
  /** QoS 1/2 deliveries a client has not acknowledged; past it, deliveries to it are skipped. */
  maxInflightPerClient?: number;
  /** PUBLISH packets per second per connection (bursts of as many); faster ones are held. */
  publishRate?: number;
  /** Filters one connection may hold subscribed; more get SUBACK 0x80. */
  maxSubscriptionsPerClient?: number;
  /**
   * Connected MQTT clients; a CONNECT beyond is refused with CONNACK 3 (server unavailable),
   * unless the client takes over its own session (same client id).
   */
  maxClients?: number;
  /**
   * After a persistent session moved to another broker, this broker keeps collecting for it
   * this long, then pushes what came (the tail) to the new holder: longer than the federation
   * takes to learn the new holder's interest (the 200 ms bound of "no loss when a topic first
   * appears"), with room for a loaded machine. [design]
   */
  sessionRelayMs?: number;
  /** Deadline of one session-directory or session-move call while a client connects. */
  sessionCallTimeoutMs?: number;
  /** Bytes of queued messages per page of a session move. */
  sessionPageBytes?: number;
  /** Queued messages one moved session may bring; a longer queue is refused, not taken. */
  maxMovedMessages?: number;
  /** Header, request and keep-alive timeouts of the HTTP server (common `httpTimeoutDefaults`). */
  httpTimeouts?: HttpTimeoutsOption;
  logger?: Logger;
  logLevel?: LogLevel;
  clock?: Clock;
  /** Randomness for reconnect jitter; injectable so tests are reproducible. */
  random?: () => number;
}

export const brokerServiceDefaults = {
  issuer: 'mqfed-auth',
  audience: 'mqfed',
  host: '127.0.0.1',
  mqttPort: 0,
  mqttsPort: 0,
  httpPort: 0,
  leaseTtlMs: 15_000,
  maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
  linkIdleGraceMs: 5_000,
  pingIntervalMs: 10_000,
  reconnectBaseMs: 100,
  reconnectMaxMs: 10_000,
  // [design] small next to the 1 s target for a new publisher to reach remote subscribers.
  advertiseDebounceMs: 100,
  topicIdleMs: 10 * 60_000,
  maxAdvertisedTopics: 1000,
  declaredTopics: [] as string[],
  peerRoutes: {} as Readonly<Record<string, string>>,
  outboxHighWaterBytes: 8 * 1024 * 1024,
  outboxMaxBytes: 64 * 1024 * 1024,
  outboxMaxAgeMs: 10 * 60_000,
  // [design] Part of the 200 ms bound on a new remote subscription reaching every publisher.
  interestDebounceMs: 20,
  // [design] Discovery's default cap on interest filters per broker (maxInterestPerBroker).
  maxAdvertisedInterest: 4096,
  maxPeerFilters: 10_000,
  maxPeerFilterBytes: 1024 * 1024,
  // Longer than a key-set fetch may take (token-verifier.ts, 5 s), with room for a loaded machine.
  peerVerifyDeadlineMs: 15_000,
  allowAnonymous: false,
  // [design] Client limits: generous for any real client, tight enough that no one client can
  // take the broker's memory (a 64 MiB message, unbounded retained messages, a flood).
  maxPacketBytes: 1024 * 1024,
  maxRetainedPerClient: 1000,
  maxRetainedBytesPerClient: 4 * 1024 * 1024,
  maxRetained: 100_000,
  maxRetainedBytes: 256 * 1024 * 1024,
  retainedTombstoneMs: 60 * 60_000,
  maxRetainedTombstones: 10_000,
  retainedFetchDeadlineMs: 1_000,
  retainedFetchMaxMessages: 1_000,
  retainedFetchMaxBytes: 4 * 1024 * 1024,
  // Base64 makes the payloads 4/3 larger, plus topics, versions and JSON around them.
  retainedFetchMaxResponseBytes: 8 * 1024 * 1024,
  retainedMaxClockSkewMs: 5 * 60_000,
  maxInflightPerClient: 1000,
  publishRate: 10_000,
  maxSubscriptionsPerClient: 1000,
  // [design] 100,000: twenty times the 5,000 clients per broker of the testbed's crowd-xl
  // scenario, so no scenario meets it, while a connection flood stops at a known cost: at the
  // 16 KiB an idle client is held to (docs/benchmarks.md, memory) about 1.6 GB, the size of a
  // machine that serves that many clients. An operator sizes it to the machine (--max-clients).
  maxClients: 100_000,
  sessionRelayMs: 1_000,
  sessionCallTimeoutMs: 5_000,
  sessionPageBytes: 4 * 1024 * 1024,
  maxMovedMessages: 100_000,
  logLevel: 'info' as LogLevel,
} as const;

const port = z.number().int().min(0).max(65_535);
const positiveInt = z.number().int().positive();

const optionsSchema = z.object({
  id: serviceIdSchema,
  httpTimeouts: httpTimeoutsSchema.optional(),
  discoveryUrl: z.url({ protocol: /^https?$/ }),
  authUrl: z.url({ protocol: /^https?$/ }).optional(),
  revocationFeedUrl: z.url({ protocol: /^wss?$/ }).optional(),
  secret: z.string().min(1).optional(),
  issuer: z.string().min(1),
  audience: z.string().min(1),
  host: z.string().min(1),
  advertisedHost: z.string().min(1).optional(),
  tls: tlsConfigSchema.optional(),
  mqttPort: port,
  mqttsPort: port,
  mqttWsPort: port.optional(),
  httpPort: port,
  leaseTtlMs: z.number().int().min(100),
  maxPayloadBytes: z
    .number()
    .int()
    .min(0)
    .max(64 * 1024 * 1024),
  linkIdleGraceMs: z.number().int().min(0),
  pingIntervalMs: positiveInt,
  reconnectBaseMs: positiveInt,
  reconnectMaxMs: positiveInt,
  advertiseDebounceMs: z.number().int().min(0),
  topicIdleMs: positiveInt,
  maxAdvertisedTopics: positiveInt,
  declaredTopics: z.array(topicFilterSchema),
  peerRoutes: z.record(serviceIdSchema, z.url({ protocol: /^wss?$/ })),
  outboxHighWaterBytes: z
    .number()
    .int()
    .min(64 * 1024),
  dataDir: z.string().min(1).optional(),
  outboxMaxBytes: z
    .number()
    .int()
    .min(64 * 1024),
  outboxMaxAgeMs: positiveInt,
  interestDebounceMs: z.number().int().min(0),
  maxAdvertisedInterest: positiveInt,
  maxPeerFilters: positiveInt,
  maxPeerFilterBytes: positiveInt,
  peerVerifyDeadlineMs: positiveInt,
  allowAnonymous: z.boolean(),
  // At least a CONNECT with long credentials (a token) and a will.
  maxPacketBytes: z
    .number()
    .int()
    .min(16 * 1024)
    .max(256 * 1024 * 1024),
  maxRetainedPerClient: z.number().int().min(0),
  maxRetainedBytesPerClient: z.number().int().min(0),
  maxRetained: z.number().int().min(0),
  maxRetainedBytes: z.number().int().min(0),
  retainedTombstoneMs: positiveInt,
  maxRetainedTombstones: positiveInt,
  retainedFetchDeadlineMs: positiveInt,
  retainedFetchMaxMessages: positiveInt,
  retainedFetchMaxBytes: positiveInt,
  retainedFetchMaxResponseBytes: z
    .number()
    .int()
    .min(64 * 1024),
  retainedMaxClockSkewMs: z.number().int().min(0),
  maxInflightPerClient: positiveInt,
  publishRate: positiveInt,
  maxSubscriptionsPerClient: positiveInt,
  maxClients: positiveInt,
  sessionRelayMs: z.number().int().min(0),
  sessionCallTimeoutMs: positiveInt,
  sessionPageBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(64 * 1024 * 1024),
  maxMovedMessages: positiveInt,
  logLevel: z.enum(logLevels as [LogLevel, ...LogLevel[]]),
});

export type ResolvedBrokerServiceOptions = Readonly<z.output<typeof optionsSchema>> & {
  readonly tokens: TokenWallet | undefined;
  readonly verifier: TokenVerifier | undefined;
  readonly revocations: RevocationWatch | undefined;
  readonly logger: Logger | undefined;
  readonly clock: Clock;
  readonly random: () => number;
};

/** Fills in defaults, validates, and freezes. A bad option is INVALID_REQUEST naming the field. */
export function resolveBrokerServiceOptions(
  options: BrokerServiceOptions,
): ResolvedBrokerServiceOptions {
  const { logger, clock, tokens, verifier, revocations, random, ...plain } = options;
  const defined = Object.fromEntries(Object.entries(plain).filter(([, v]) => v !== undefined));
  const parsed = optionsSchema.safeParse({ ...brokerServiceDefaults, ...defined });
  const fail = (message: string) =>
    new MqfedError('INVALID_REQUEST', `broker service options: ${message}`);
  if (!parsed.success) throw fail(describeIssues(parsed.error.issues));
  const o = parsed.data;
  if (tokens === undefined && (o.authUrl === undefined || o.secret === undefined)) {
    throw fail('needs a token wallet (tokens), or authUrl and secret');
  }
  if (verifier === undefined && o.authUrl === undefined) {
    throw fail('needs a verifier, or the authUrl whose keys verify peers');
  }
  if (o.reconnectBaseMs > o.reconnectMaxMs) throw fail('reconnectBaseMs exceeds reconnectMaxMs');
  return Object.freeze({
    ...o,
    tokens,
    verifier,
    revocations,
    logger,
    clock: clock ?? systemClock,
    random: random ?? Math.random,
  });
}
