import { z } from 'zod';
import type { TokenSource, TokenVerifier } from '../auth/index.ts';
import { type Clock, type Logger, type LogLevel, logLevels, systemClock } from '../common/index.ts';
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
  /** The secret of `id`; with `authUrl` it makes the token source. */
  secret?: string;
  /** Or bring your own (tests, embedding): then `authUrl` and `secret` may be left out. */
  tokenSource?: TokenSource;
  verifier?: TokenVerifier;
  issuer?: string;
  audience?: string;
  /** Address every listener binds to. */
  host?: string;
  /** Host name peers use to reach this broker's link server; defaults to `host`. */
  advertisedHost?: string;
  /** MQTT over TCP; 0 picks a free port. */
  mqttPort?: number;
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
  /** Per link: filters a peer may hold subscribed here; more are refused. */
  maxPeerFilters?: number;
  /** Per link: total length of those filters. */
  maxPeerFilterBytes?: number;
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
  maxPeerFilters: 10_000,
  maxPeerFilterBytes: 1024 * 1024,
  logLevel: 'info' as LogLevel,
} as const;

const port = z.number().int().min(0).max(65_535);
const positiveInt = z.number().int().positive();

const optionsSchema = z.object({
  id: serviceIdSchema,
  discoveryUrl: z.url({ protocol: /^https?$/ }),
  authUrl: z.url({ protocol: /^https?$/ }).optional(),
  secret: z.string().min(1).optional(),
  issuer: z.string().min(1),
  audience: z.string().min(1),
  host: z.string().min(1),
  advertisedHost: z.string().min(1).optional(),
  mqttPort: port,
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
  maxPeerFilters: positiveInt,
  maxPeerFilterBytes: positiveInt,
  logLevel: z.enum(logLevels as [LogLevel, ...LogLevel[]]),
});

export type ResolvedBrokerServiceOptions = Readonly<z.output<typeof optionsSchema>> & {
  readonly tokenSource: TokenSource | undefined;
  readonly verifier: TokenVerifier | undefined;
  readonly logger: Logger | undefined;
  readonly clock: Clock;
  readonly random: () => number;
};

/** Fills in defaults, validates, and freezes. A bad option is INVALID_REQUEST naming the field. */
export function resolveBrokerServiceOptions(
  options: BrokerServiceOptions,
): ResolvedBrokerServiceOptions {
  const { logger, clock, tokenSource, verifier, random, ...plain } = options;
  const defined = Object.fromEntries(Object.entries(plain).filter(([, v]) => v !== undefined));
  const parsed = optionsSchema.safeParse({ ...brokerServiceDefaults, ...defined });
  const fail = (message: string) =>
    new MqfedError('INVALID_REQUEST', `broker service options: ${message}`);
  if (!parsed.success) throw fail(describeIssues(parsed.error.issues));
  const o = parsed.data;
  if (tokenSource === undefined && (o.authUrl === undefined || o.secret === undefined)) {
    throw fail('needs a tokenSource, or authUrl and secret');
  }
  if (verifier === undefined && o.authUrl === undefined) {
    throw fail('needs a verifier, or the authUrl whose keys verify peers');
  }
  if (o.reconnectBaseMs > o.reconnectMaxMs) throw fail('reconnectBaseMs exceeds reconnectMaxMs');
  return Object.freeze({
    ...o,
    tokenSource,
    verifier,
    logger,
    clock: clock ?? systemClock,
    random: random ?? Math.random,
  });
}
