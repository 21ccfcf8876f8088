import { z } from 'zod';
import { type RevocationWatch, revocationFeedUrl, type TokenVerifier } from '../auth/index.ts';
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
import { describeIssues, MqfedError } from '../protocol/index.ts';

export interface DiscoveryServiceOptions {
  host?: string;
  port?: number;
  /**
   * HTTPS and WSS with this certificate and key, and the CA the auth service's JWKS must be
   * signed by. Plain text when absent (the CLI sets it).
   */
  tls?: TlsConfig;
  /**
   * Verifies callers' tokens. Without it, one is created from `jwksUrl`, `issuer` and `audience`
   * (the auth service's published keys), which is what the CLI does.
   */
  verifier?: TokenVerifier;
  jwksUrl?: string;
  /**
   * The auth service's revocations, pushed: a revoked broker's watches close and its registration
   * goes at once. Without it, one is made from `revocationFeedUrl`, by default the auth service's
   * feed next to `jwksUrl`; with neither (a bare `verifier`), revocations reach discovery only
   * when the tokens expire.
   */
  revocations?: RevocationWatch;
  /** `ws://` or `wss://` URL of the auth service's revocation feed. */
  revocationFeedUrl?: string;
  issuer?: string;
  audience?: string;
  /** Lease lifetime when a broker registers without `ttlMs`. */
  defaultLeaseTtlMs?: number;
  /** Shorter requested leases are refused (INVALID_REQUEST). */
  minLeaseTtlMs?: number;
  /** Longer requested leases are cut down to this. */
  maxLeaseTtlMs?: number;
  /** Most topics and filters one broker may advertise at once (TOPIC_LIMIT_EXCEEDED). */
  maxTopicsPerBroker?: number;
  /**
   * Most interest filters one broker may advertise at once (TOPIC_LIMIT_EXCEEDED, naming this
   * cap, which a broker whose `maxAdvertisedInterest` is higher then folds under). The CLI's
   * `--max-topics-per-broker` sets both.
   */
  maxInterestPerBroker?: number;
  /** Largest accepted HTTP request body. */
  bodyLimitBytes?: number;
  /** Largest accepted watch frame; a larger one closes that socket with BODY_TOO_LARGE (1009). */
  maxWatchFrameBytes?: number;
  /** Most concurrent watches on one watch socket (WATCH_LIMIT_EXCEEDED). */
  maxWatchesPerSocket?: number;
  /** Most concurrent watches of one token subject, over all its sockets (WATCH_LIMIT_EXCEEDED). */
  maxWatchesPerSubject?: number;
  /** Most open watch sockets of one token subject; more upgrades are WATCH_LIMIT_EXCEEDED. */
  maxWatchSocketsPerSubject?: number;
  /** Most filters and interest filters together in one watch (WATCH_LIMIT_EXCEEDED). */
  maxFiltersPerWatch?: number;
  /** Longest filter of a watch, in UTF-8 bytes (WATCH_LIMIT_EXCEEDED). */
  maxWatchFilterBytes?: number;
  /** Most levels in a filter of a watch (WATCH_LIMIT_EXCEEDED). */
  maxWatchFilterLevels?: number;
  /** Ping interval; a watcher that missed the previous pong is dropped. */
  watchHeartbeatMs?: number;
  /** Header, request and keep-alive timeouts of the HTTP server (common `httpTimeoutDefaults`). */
  httpTimeouts?: HttpTimeoutsOption;
  /** A watcher whose unsent backlog exceeds this is too slow to keep, and is dropped. */
  maxWatchBufferBytes?: number;
  /** Most MQTT sessions one broker may hold in the session directory (SESSION_LIMIT_EXCEEDED). */
  maxSessionsPerBroker?: number;
  /** Most sessions in the session directory over all brokers (SESSION_LIMIT_EXCEEDED). */
  maxSessions?: number;
  /** The sessions of a broker that has held no lease for this long are dropped. */
  sessionOrphanTtlMs?: number;
  logger?: Logger;
  logLevel?: LogLevel;
  clock?: Clock;
}

export const discoveryServiceDefaults = {
  host: '127.0.0.1',
  port: 0,
  issuer: 'mqfed-auth',
  audience: 'mqfed',
  defaultLeaseTtlMs: 15_000,
  // [design] below 100 ms a lease would expire between two renewals of any real broker.
  minLeaseTtlMs: 100,
  maxLeaseTtlMs: 5 * 60_000,
  // [design] four times the broker's topic-space cap (1000), leaving room for declared filters.
  maxTopicsPerBroker: 4096,
  // [design] as many as topics: a broker's clients may subscribe as widely as others publish.
  maxInterestPerBroker: 4096,
  bodyLimitBytes: 1024 * 1024,
  // [design] room for a watch of a few hundred long filters; watchers rarely send more than one.
  maxWatchFrameBytes: 256 * 1024,
  maxWatchesPerSocket: 64,
  // [design] four sockets' worth: a broker needs one or two watches, a tool a few more.
  maxWatchesPerSubject: 256,
  // [design] a broker needs one socket; a few more for tools, restarts and reconnects.
  maxWatchSocketsPerSubject: 16,
  // [design] matching is indexed (filter-matcher.ts), so a watch's filters cost memory, not time
  // per topic; 1024 is what one watch frame could always carry.
  maxFiltersPerWatch: 1024,
  // [design] MQTT allows 65535 bytes; nothing in a federation's topic space comes near 1 KiB or
  // 32 levels, and both bound the trie one watch builds.
  maxWatchFilterBytes: 1024,
  maxWatchFilterLevels: 32,
  watchHeartbeatMs: 15_000,
  maxWatchBufferBytes: 8 * 1024 * 1024,
  // [design] a broker of 100 000 persistent clients is a large one. The total bounds memory: an
  // entry takes about 280 bytes of heap with a 24-character client id and about 520 with one of
  // 256 bytes (bench/session-directory-bench.ts), so 270 to 500 MiB when full.
  maxSessionsPerBroker: 100_000,
  maxSessions: 1_000_000,
  // [design] a day: a broker restarting or moving keeps its clients' sessions through any
  // ordinary outage, and a broker that is gone for good frees its entries the next day.
  sessionOrphanTtlMs: 24 * 60 * 60_000,
  logLevel: 'info' as LogLevel,
} as const;

export interface ResolvedDiscoveryServiceOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsConfig | undefined;
  readonly verifier: TokenVerifier | undefined;
  readonly jwksUrl: string | undefined;
  readonly revocations: RevocationWatch | undefined;
  readonly revocationFeedUrl: string | undefined;
  readonly issuer: string;
  readonly audience: string;
  readonly defaultLeaseTtlMs: number;
  readonly minLeaseTtlMs: number;
  readonly maxLeaseTtlMs: number;
  readonly maxTopicsPerBroker: number;
  readonly maxInterestPerBroker: number;
  readonly bodyLimitBytes: number;
  readonly maxWatchFrameBytes: number;
  readonly maxWatchesPerSocket: number;
  readonly maxWatchesPerSubject: number;
  readonly maxWatchSocketsPerSubject: number;
  readonly maxFiltersPerWatch: number;
  readonly maxWatchFilterBytes: number;
  readonly maxWatchFilterLevels: number;
  readonly watchHeartbeatMs: number;
  readonly httpTimeouts: HttpTimeoutsOption | undefined;
  readonly maxWatchBufferBytes: number;
  readonly maxSessionsPerBroker: number;
  readonly maxSessions: number;
  readonly sessionOrphanTtlMs: number;
  readonly logger: Logger | undefined;
  readonly logLevel: LogLevel;
  readonly clock: Clock;
}

const positiveInt = z.number().int().positive();

const optionsSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65_535),
    tls: tlsConfigSchema.optional(),
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
    revocationFeedUrl: z.url({ protocol: /^wss?$/ }).optional(),
    issuer: z.string().min(1),
    audience: z.string().min(1),
    defaultLeaseTtlMs: positiveInt,
    minLeaseTtlMs: positiveInt,
    maxLeaseTtlMs: positiveInt,
    maxTopicsPerBroker: positiveInt,
    maxInterestPerBroker: positiveInt,
    bodyLimitBytes: z.number().int().min(1024),
    maxWatchFrameBytes: z.number().int().min(1024),
    maxWatchesPerSocket: positiveInt,
    maxWatchesPerSubject: positiveInt,
    maxWatchSocketsPerSubject: positiveInt,
    maxFiltersPerWatch: positiveInt,
    maxWatchFilterBytes: positiveInt,
    maxWatchFilterLevels: positiveInt,
    watchHeartbeatMs: positiveInt,
    httpTimeouts: httpTimeoutsSchema.optional(),
    maxWatchBufferBytes: z
      .number()
      .int()
      .min(64 * 1024),
    maxSessionsPerBroker: positiveInt,
    maxSessions: positiveInt,
    sessionOrphanTtlMs: positiveInt,
    logLevel: z.enum(logLevels as [LogLevel, ...LogLevel[]]),
  })
  .refine((o) => o.minLeaseTtlMs <= o.defaultLeaseTtlMs && o.defaultLeaseTtlMs <= o.maxLeaseTtlMs, {
    message: 'needs minLeaseTtlMs <= defaultLeaseTtlMs <= maxLeaseTtlMs',
    path: ['defaultLeaseTtlMs'],
  });

/** Fills in defaults, validates, and freezes. A bad option is INVALID_REQUEST naming the field. */
export function resolveDiscoveryServiceOptions(
  options: DiscoveryServiceOptions,
): ResolvedDiscoveryServiceOptions {
  const { logger, clock, verifier, revocations, ...plain } = options;
  const merged = { ...discoveryServiceDefaults, ...withoutUndefined(plain) };
  const parsed = optionsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new MqfedError(
      'INVALID_REQUEST',
      `discovery service options: ${describeIssues(parsed.error.issues)}`,
    );
  }
  if (verifier === undefined && parsed.data.jwksUrl === undefined) {
    throw new MqfedError(
      'INVALID_REQUEST',
      'discovery service options: needs a verifier or the jwksUrl of the auth service',
    );
  }
  return Object.freeze({
    ...parsed.data,
    tls: parsed.data.tls,
    httpTimeouts: parsed.data.httpTimeouts,
    jwksUrl: parsed.data.jwksUrl,
    revocations,
    revocationFeedUrl:
      parsed.data.revocationFeedUrl ??
      (parsed.data.jwksUrl === undefined ? undefined : revocationFeedUrl(parsed.data.jwksUrl)),
    verifier,
    logger,
    clock: clock ?? systemClock,
  });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
