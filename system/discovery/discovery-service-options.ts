import { z } from 'zod';
import type { TokenVerifier } from '../auth/index.ts';
import { type Clock, type Logger, type LogLevel, logLevels, systemClock } from '../common/index.ts';
import { describeIssues, MqfedError } from '../protocol/index.ts';

export interface DiscoveryServiceOptions {
  host?: string;
  port?: number;
  /**
   * Verifies callers' tokens. Without it, one is created from `jwksUrl`, `issuer` and `audience`
   * (the auth service's published keys), which is what the CLI does.
   */
  verifier?: TokenVerifier;
  jwksUrl?: string;
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
  /** Most interest filters one broker may advertise at once (TOPIC_LIMIT_EXCEEDED). */
  maxInterestPerBroker?: number;
  /** Largest accepted HTTP request body. */
  bodyLimitBytes?: number;
  /** Largest accepted watch frame; a larger one closes that socket with BODY_TOO_LARGE (1009). */
  maxWatchFrameBytes?: number;
  /** Most concurrent watches on one watch socket. */
  maxWatchesPerSocket?: number;
  /** Ping interval; a watcher that missed the previous pong is dropped. */
  watchHeartbeatMs?: number;
  /** A watcher whose unsent backlog exceeds this is too slow to keep, and is dropped. */
  maxWatchBufferBytes?: number;
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
  watchHeartbeatMs: 15_000,
  maxWatchBufferBytes: 8 * 1024 * 1024,
  logLevel: 'info' as LogLevel,
} as const;

export interface ResolvedDiscoveryServiceOptions {
  readonly host: string;
  readonly port: number;
  readonly verifier: TokenVerifier | undefined;
  readonly jwksUrl: string | undefined;
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
  readonly watchHeartbeatMs: number;
  readonly maxWatchBufferBytes: number;
  readonly logger: Logger | undefined;
  readonly logLevel: LogLevel;
  readonly clock: Clock;
}

const positiveInt = z.number().int().positive();

const optionsSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65_535),
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
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
    watchHeartbeatMs: positiveInt,
    maxWatchBufferBytes: z
      .number()
      .int()
      .min(64 * 1024),
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
  const { logger, clock, verifier, ...plain } = options;
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
    jwksUrl: parsed.data.jwksUrl,
    verifier,
    logger,
    clock: clock ?? systemClock,
  });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
