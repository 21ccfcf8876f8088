import type { Clock, TlsTrust } from '../common/index.ts';
import { MqfedError, type TokenTarget } from '../protocol/index.ts';
import { createAuthClient } from './auth-client.ts';
import { createTokenSource, type TokenSource, type TokenSourceOptions } from './token-source.ts';

export interface TokenWalletOptions {
  authUrl: string;
  id: string;
  secret: string;
  /** The CA an https:// auth service's certificate must be signed by. */
  tls?: TlsTrust | undefined;
  clock?: Clock;
  refreshAheadRatio?: TokenSourceOptions['refreshAheadRatio'];
  retryDelaysMs?: TokenSourceOptions['retryDelaysMs'];
  /** How often the tokens kept fresh (`keepFresh`) are looked at. */
  keepFreshIntervalMs?: number;
}

export const tokenWalletDefaults = { keepFreshIntervalMs: 5_000 } as const;

/**
 * A service's tokens, one per recipient (`aud`), so that no recipient holds a token another
 * would accept (docs/security.md). The secret is proved once for a token to the auth service;
 * that token is exchanged for each recipient's. [design]
 */
export interface TokenWallet {
  /** The token source for `target`, made on first use and kept for the wallet's life. */
  source(target: TokenTarget): TokenSource;
  /**
   * Fetches a token for `target` now and keeps it fresh until `letGo(target)`, so a link to that
   * recipient can open while the auth service is down. [design] A broker keeps one for every
   * peer discovery shows it: before, one token served every peer and an auth outage did not stop
   * new links; with a token per recipient, only tokens fetched ahead keep that true.
   */
  keepFresh(target: TokenTarget): void;
  letGo(target: TokenTarget): void;
  close(): void;
}

export function createTokenWallet(options: TokenWalletOptions): TokenWallet {
  const client = createAuthClient({ url: options.authUrl, tls: options.tls });
  const common = {
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.refreshAheadRatio === undefined
      ? {}
      : { refreshAheadRatio: options.refreshAheadRatio }),
    ...(options.retryDelaysMs === undefined ? {} : { retryDelaysMs: options.retryDelaysMs }),
  };
  const credentials = { id: options.id, secret: options.secret };
  const own = createTokenSource({
    ...common,
    fetchToken: () => client.issueToken(credentials, 'auth'),
  });
  const exchange = async (target: TokenTarget) => {
    try {
      return await client.exchangeToken(await own.current(), target);
    } catch (error) {
      // The auth service no longer takes our token for it (its keys were replaced, say):
      // prove the secret again, once.
      if (!(error instanceof MqfedError) || !error.code.startsWith('TOKEN_')) throw error;
      return client.exchangeToken(await own.refresh(), target);
    }
  };
  // [design] bounded by the recipients a service talks to: its peers and discovery.
  const sources = new Map<TokenTarget, TokenSource>([['auth', own]]);
  const source = (target: TokenTarget): TokenSource => {
    let found = sources.get(target);
    if (found === undefined) {
      found = createTokenSource({ ...common, fetchToken: () => exchange(target) });
      sources.set(target, found);
    }
    return found;
  };
  // `current()` hands out a held token at once and refreshes it in the background once it is
  // due, so looking at every kept token now and then keeps each one fresh. Failures are left to
  // the next look (and to the links, which ask for themselves).
  const kept = new Set<TokenTarget>();
  const look = (target: TokenTarget) =>
    source(target)
      .current()
      .catch(() => undefined);
  const timer = setInterval(() => {
    for (const target of kept) void look(target);
  }, options.keepFreshIntervalMs ?? tokenWalletDefaults.keepFreshIntervalMs).unref();
  return {
    source,
    keepFresh(target) {
      if (kept.has(target)) return;
      kept.add(target);
      void look(target);
    },
    letGo(target) {
      kept.delete(target);
    },
    close() {
      clearInterval(timer);
      kept.clear();
      for (const held of sources.values()) held.close();
    },
  };
}
