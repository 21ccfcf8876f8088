import { z } from 'zod';
import { type Clock, type Logger, type LogLevel, logLevels, systemClock } from '../common/index.ts';
import { describeIssues, MqfedError } from '../protocol/index.ts';

export interface AuthServiceOptions {
  /** Required. The node:sqlite database and the generated admin credential live here. */
  dataDir: string;
  host?: string;
  port?: number;
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
  logLevel: 'info' as LogLevel,
} as const;

export interface ResolvedAuthServiceOptions {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly issuer: string;
  readonly audience: string;
  readonly tokenTtlMs: number;
  readonly adminCredential?: string;
  readonly bodyLimitBytes: number;
  readonly keyRetireMarginMs: number;
  readonly logger: Logger | undefined;
  readonly logLevel: LogLevel;
  readonly clock: Clock;
}

const optionsSchema = z.object({
  dataDir: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65_535),
  issuer: z.string().min(1),
  audience: z.string().min(1),
  // [design] JWT times are whole seconds, so a lifetime under one second cannot be expressed.
  tokenTtlMs: z.number().int().min(1_000),
  // [design] the admin credential guards every registration; refuse anything guessable.
  adminCredential: z.string().min(16).max(512).optional(),
  bodyLimitBytes: z.number().int().min(256),
  keyRetireMarginMs: z.number().int().min(0),
  logLevel: z.enum(logLevels as [LogLevel, ...LogLevel[]]),
});

/** Fills in defaults, validates, and freezes. A bad option is INVALID_REQUEST naming the field. */
export function resolveAuthServiceOptions(options: AuthServiceOptions): ResolvedAuthServiceOptions {
  const { logger, clock, ...plain } = options;
  const merged = { ...authServiceDefaults, ...withoutUndefined(plain) };
  const parsed = optionsSchema.safeParse(merged);
  if (!parsed.success) {
    throw new MqfedError(
      'INVALID_REQUEST',
      `auth service options: ${describeIssues(parsed.error.issues)}`,
    );
  }
  return Object.freeze({
    ...parsed.data,
    logger,
    clock: clock ?? systemClock,
  });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
