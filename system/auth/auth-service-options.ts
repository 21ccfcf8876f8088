import { z } from 'zod';
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
import type { TokenThrottleLimits } from './token-throttle.ts';

export interface AuthServiceOptions {
  /** Required. The node:sqlite database and the generated admin credential live here. */
  dataDir: string;
  host?: string;
  port?: number;
  /** Serve HTTPS with this certificate and key; plain HTTP when absent (the CLI sets it). */
  tls?: TlsConfig;
  /** The `iss` claim of every token. */
  issuer?: string;
  /** The `aud` claim of every token. */
  audience?: string;
  /** Lifetime of an access token. */
  tokenTtlMs?: number;
  /**
   * The operator's credential for the admin API. Without it, it is read from
   * `dataDir/admin-credential`, or generated and written there (mode 0600).
   */
  adminCredential?: string;
  /** Largest accepted request body. */
  bodyLimitBytes?: number;
  /**
   * How long a rotated-out key stays published beyond the token lifetime, so verifiers with a
   * skewed clock still find it for the last tokens it signed.
   */
  keyRetireMarginMs?: number;
  /** Ping interval of the revocation feed; subscribers that miss a pong are dropped. */
  revocationFeedHeartbeatMs?: number;
  /** Most revocation feed sockets open at once (one per service of the federation). */
  maxRevocationFeedSockets?: number;
  /**
   * A provisioning manifest (provision-manifest.ts): services registered at start with secrets
   * read from files, e.g. Docker secrets. A bad manifest or secret stops the start.
   */
  provisionFile?: string;
  /** Limits of `POST /token` against floods of wrong secrets (token-throttle.ts); merged. */
  tokenThrottle?: Partial<TokenThrottleLimits>;
  /** Header, request and keep-alive timeouts of the HTTP server (common `httpTimeoutDefaults`). */
  httpTimeouts?: HttpTimeoutsOption;
  logger?: Logger;
  logLevel?: LogLevel;
  clock?: Clock;
}

export const authServiceDefaults = {
  host: '127.0.0.1',
  port: 0,
  issuer: 'mqfed-auth',
  audience: 'mqfed',
  tokenTtlMs: 600_000,
  bodyLimitBytes: 16 * 1024,
  // [design] a minute covers any sane verifier clock tolerance (ours is 5 s) many times over.
  keyRetireMarginMs: 60_000,
  // [design] a subscriber cut off without a FIN is noticed within three intervals (15 s);
  // an orderly close or a restart is noticed at once.
  revocationFeedHeartbeatMs: 5_000,
  maxRevocationFeedSockets: 1024,
  tokenThrottle: {
    // [design] a service with the right secret never fails; five typos are plenty for a human.
    addressFreeFailures: 5,
    idFreeFailures: 10,
    firstBlockMs: 1_000,
    // Half a minute: far inside the token lifetime (10 min) a token source refreshes ahead of.
    maxBlockMs: 30_000,
    forgetAfterMs: 15 * 60_000,
    // [design] a day: a service restarting where it ran yesterday still passes a guessed-at id.
    trustSuccessMs: 24 * 60 * 60_000,
    maxEntries: 10_000,
    // [design] scrypt runs on the libuv pool (4 threads): two at once leave room for the rest.
    maxConcurrentChecks: 2,
    maxQueuedChecks: 32,
  } satisfies TokenThrottleLimits,
  logLevel: 'info' as LogLevel,
} as const;

export interface ResolvedAuthServiceOptions {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly tls: TlsConfig | undefined;
  readonly issuer: string;
  readonly audience: string;
  readonly tokenTtlMs: number;
  readonly adminCredential?: string;
  readonly bodyLimitBytes: number;
  readonly keyRetireMarginMs: number;
  readonly revocationFeedHeartbeatMs: number;
  readonly maxRevocationFeedSockets: number;
  readonly provisionFile: string | undefined;
  readonly tokenThrottle: Readonly<TokenThrottleLimits>;
  readonly httpTimeouts: HttpTimeoutsOption | undefined;
  readonly logger: Logger | undefined;
  readonly logLevel: LogLevel;
  readonly clock: Clock;
}

const optionsSchema = z.object({
  dataDir: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65_535),
  tls: tlsConfigSchema.optional(),
  issuer: z.string().min(1),
  audience: z.string().min(1),
  // [design] JWT times are whole seconds, so a lifetime under one second cannot be expressed.
  tokenTtlMs: z.number().int().min(1_000),
  // [design] the admin credential guards every registration; refuse anything guessable.
  adminCredential: z.string().min(16).max(512).optional(),
  bodyLimitBytes: z.number().int().min(256),
  keyRetireMarginMs: z.number().int().min(0),
  revocationFeedHeartbeatMs: z.number().int().min(10),
  maxRevocationFeedSockets: z.number().int().positive(),
  provisionFile: z.string().min(1).optional(),
  tokenThrottle: z.object({
    addressFreeFailures: z.number().int().positive(),
    idFreeFailures: z.number().int().positive(),
    firstBlockMs: z.number().int().positive(),
    maxBlockMs: z.number().int().positive(),
    forgetAfterMs: z.number().int().positive(),
    trustSuccessMs: z.number().int().min(0),
    maxEntries: z.number().int().positive(),
    maxConcurrentChecks: z.number().int().positive(),
    maxQueuedChecks: z.number().int().min(0),
  }),
  httpTimeouts: httpTimeoutsSchema.optional(),
  logLevel: z.enum(logLevels as [LogLevel, ...LogLevel[]]),
});

/** Fills in defaults, validates, and freezes. A bad option is INVALID_REQUEST naming the field. */
export function resolveAuthServiceOptions(options: AuthServiceOptions): ResolvedAuthServiceOptions {
  const { logger, clock, ...plain } = options;
  const merged = {
    ...authServiceDefaults,
    ...withoutUndefined(plain),
    tokenThrottle: {
      ...authServiceDefaults.tokenThrottle,
      ...withoutUndefined(plain.tokenThrottle ?? {}),
    },
  };
  const parsed = optionsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new MqfedError(
      'INVALID_REQUEST',
      `auth service options: ${describeIssues(parsed.error.issues)}`,
    );
  }
  return Object.freeze({
    ...parsed.data,
    tls: parsed.data.tls,
    provisionFile: parsed.data.provisionFile,
    httpTimeouts: parsed.data.httpTimeouts,
    logger,
    clock: clock ?? systemClock,
  });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
