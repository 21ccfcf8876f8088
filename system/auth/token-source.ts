import { setTimeout as sleep } from 'node:timers/promises';
import { type Clock, systemClock } from '../common/index.ts';
import { MqfedError } from '../protocol/index.ts';

/** A fresh token and when it expires (epoch ms), from the auth service. */
export type TokenFetch = () => Promise<{ token: string; expiresAt: number }>;

export interface TokenSourceOptions {
  /** Asks the auth service for a new token (a credentials grant or an exchange). */
  fetchToken: TokenFetch;
  clock?: Clock;
  /** Refresh once this share of a token's lifetime has passed. */
  refreshAheadRatio?: number;
  /** Waits between attempts when no valid token is held; one attempt more than entries. */
  retryDelaysMs?: readonly number[];
}

/**
 * Keeps a fresh token for one recipient: fetches on first use, refreshes ahead of expiry,
 * retries. Services get one per recipient from their token wallet (token-wallet.ts).
 */
export interface TokenSource {
  /** A valid token; waits for the auth service only when none is held. */
  current(): Promise<string>;
  /** Fetches a new token now (or joins a fetch under way), e.g. after a peer refused the old one. */
  refresh(): Promise<string>;
  close(): void;
}

export const tokenSourceDefaults = {
  refreshAheadRatio: 0.8,
  retryDelaysMs: [250, 1_000, 4_000],
  // Back-off between background refreshes that fail while the held token is still valid.
  backgroundRetryMs: 5_000,
} as const;

interface Held {
  token: string;
  refreshAt: number;
  /** When the token stops being worth handing out (a little before `exp`). */
  usableUntil: number;
}

/**
 * [design] While a valid token is held, `current()` never waits on the auth service: inside the
 * refresh window it starts a background refresh and hands out the held token, so an outage of
 * the auth service shorter than the remaining lifetime goes unnoticed.
 */
export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const clock = options.clock ?? systemClock;
  const ratio = options.refreshAheadRatio ?? tokenSourceDefaults.refreshAheadRatio;
  if (!(ratio > 0 && ratio <= 1)) {
    throw new MqfedError('INVALID_REQUEST', 'refreshAheadRatio must be in (0, 1]');
  }
  const retryDelays = options.retryDelaysMs ?? tokenSourceDefaults.retryDelaysMs;
  let held: Held | undefined;
  let inFlight: Promise<string> | undefined;
  let backgroundRetryAt = 0;
  let closed = false;

  const fetchOnce = async (): Promise<string> => {
    const requestedAt = clock.now();
    const { token, expiresAt } = await options.fetchToken();
    const lifetime = Math.max(0, expiresAt - requestedAt);
    if (closed) throw closedError();
    held = {
      token,
      refreshAt: requestedAt + lifetime * ratio,
      usableUntil: expiresAt - Math.min(5_000, lifetime * 0.05),
    };
    return token;
  };
  const fetchWithRetries = async (): Promise<string> => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await fetchOnce();
      } catch (error) {
        const delay = retryDelays[attempt];
        if (closed || delay === undefined || !isRetryable(error)) throw error;
        // [design] A held timer: at a service's start nothing else may keep the event loop
        // alive yet, and an unheld one let the process end mid-retry with no error at all (an
        // orchestrated broker started before auth exited 13, "unsettled top-level await"). A
        // retry keeps a closing process at most the last delay longer.
        await sleep(delay);
      }
    }
  };
  const start = (retrying: boolean): Promise<string> => {
    inFlight ??= (retrying ? fetchWithRetries() : fetchOnce()).finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
  const refresh = (): Promise<string> => (closed ? Promise.reject(closedError()) : start(true));

  return {
    async current() {
      if (closed) throw closedError();
      const now = clock.now();
      if (held !== undefined && now < held.usableUntil) {
        if (now >= held.refreshAt && inFlight === undefined && now >= backgroundRetryAt) {
          start(false).catch(() => {
            backgroundRetryAt = clock.now() + tokenSourceDefaults.backgroundRetryMs;
          });
        }
        return held.token;
      }
      return refresh();
    },
    refresh,
    close() {
      closed = true;
      held = undefined;
    },
  };
}

/**
 * Wrong credentials will not get better by asking again; an unreachable service may, and so may
 * one that throttled us (429) for others' failures at our address.
 */
function isRetryable(error: unknown): boolean {
  if (!(error instanceof MqfedError)) return true;
  return error.httpStatus >= 500 || error.code === 'RATE_LIMITED';
}

function closedError(): MqfedError {
  return new MqfedError('INTERNAL', 'the token source is closed');
}
