import { decodeJwt } from 'jose';
import type { TokenSource, TokenVerifier } from '../auth/index.ts';
import type { Clock, Logger } from '../common/index.ts';
import {
  type ErrorCode,
  filterCovers,
  MqfedError,
  type TokenClaims,
  toMqfedError,
  topicMatches,
} from '../protocol/index.ts';
import type { BrokerMetrics } from './broker-metrics.ts';
import type { PeerConnection } from './peer-connection.ts';

export interface PeerAuthorityContext {
  readonly clock: Clock;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
  readonly tokenSource: TokenSource;
  readonly verifier: TokenVerifier;
  /** A peer token not verified within this long closes the link (KEYS_UNAVAILABLE). */
  readonly verifyDeadlineMs: number;
}

// Our token is looked at again at half its remaining lifetime, but never more often than this.
const MIN_TOKEN_CHECK_MS = 50;
// Scope verdicts are cached per topic; a cache is dropped when it grows past this.
const MAX_SCOPE_CACHE = 10_000;

/**
 * Who the peer is and what it may do, on the current connection, and the tokens both ways.
 * [design] The peer's claims come from the upgrade (it dialed) or from its TOKEN_REFRESH (we
 * dialed); every later refresh replaces them, and a link whose token runs out without one is
 * closed. Our own token goes to the peer again before it expires.
 */
export class PeerAuthority {
  readonly #peerId: string;
  readonly #ctx: PeerAuthorityContext;
  #claims: TokenClaims | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #ownToken: string | undefined;
  #ownTokenTimer: NodeJS.Timeout | undefined;
  /**
   * Scope verdicts per topic, each made at its first use: a link often carries data one way
   * only, and an idle one none, so an empty map would mostly be held for nothing.
   */
  #offerVerdicts: Map<string, boolean> | undefined;
  #receiveVerdicts: Map<string, boolean> | undefined;

  constructor(peerId: string, ctx: PeerAuthorityContext) {
    this.#peerId = peerId;
    this.#ctx = ctx;
  }

  get verified(): boolean {
    return this.#claims !== undefined;
  }

  /** The peer's verified claims on the current connection, if any yet. */
  get claims(): TokenClaims | undefined {
    return this.#claims;
  }

  /** Forgets the connection that ended. */
  reset(): void {
    this.#claims = undefined;
    this.#ownToken = undefined;
    this.#offerVerdicts = undefined;
    this.#receiveVerdicts = undefined;
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#ownTokenTimer);
  }

  /** New claims for `conn`; the link is closed when they run out without a refresh. */
  accept(claims: TokenClaims, conn: PeerConnection): void {
    this.#claims = claims;
    this.#offerVerdicts = undefined;
    this.#receiveVerdicts = undefined;
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = setTimeout(
      () => conn.close('TOKEN_EXPIRED'),
      Math.max(0, claims.exp * 1000 - this.#ctx.clock.now()),
    );
    this.#expiryTimer.unref();
  }

  /**
   * Verifies a token the peer sent (TOKEN_REFRESH). Resolves to the claims, or to the code the
   * link must close with.
   */
  async verify(token: string): Promise<TokenClaims | ErrorCode> {
    let deadline: NodeJS.Timeout | undefined;
    // [design] Reading stops while a token is verified, so a verification that never ends
    // (a hung key fetch) would hold the link and its socket for good: it gets a deadline.
    const late = new Promise<never>((_, reject) => {
      deadline = setTimeout(
        () => reject(new MqfedError('KEYS_UNAVAILABLE', 'the peer token took too long to verify')),
        this.#ctx.verifyDeadlineMs,
      );
    });
    try {
      const claims = await Promise.race([this.#ctx.verifier.verify(token), late]);
      if (claims.role !== 'broker') return 'ROLE_FORBIDDEN';
      if (claims.sub !== this.#peerId) return 'IDENTITY_MISMATCH';
      return claims;
    } catch (error) {
      return toMqfedError(error).code;
    } finally {
      clearTimeout(deadline);
    }
  }

  /** The peer may offer this topic: its token's publish (`pub`) scope matches it. */
  mayOffer(topic: string): boolean {
    this.#offerVerdicts ??= new Map();
    return this.#cached(this.#offerVerdicts, topic, (claims) => claims.topics.pub);
  }

  /** The peer may receive this topic: its token's consume (`sub`) scope matches it. */
  mayReceive(topic: string): boolean {
    this.#receiveVerdicts ??= new Map();
    return this.#cached(this.#receiveVerdicts, topic, (claims) => claims.topics.sub);
  }

  /** A peer may subscribe only filters inside its token's consume (`sub`) scope. */
  subscribeRefusal(filter: string): ErrorCode | undefined {
    const claims = this.#claims;
    if (claims === undefined) return 'TOKEN_MISSING';
    return claims.topics.sub.some((scope) => filterCovers(scope, filter))
      ? undefined
      : 'SCOPE_DENIED';
  }

  /**
   * Our token for this connection: before it expires, the fresh one from the token source goes
   * to the peer. Checked at half the remaining lifetime each time; past three quarters of it a
   * new token is fetched outright, so the peer holds a fresh one with a quarter to spare.
   */
  startOwnToken(token: string, conn: PeerConnection): void {
    this.#ownToken = token;
    clearTimeout(this.#ownTokenTimer);
    const { exp = 0, iat = 0 } = decodeJwt(token);
    const remaining = exp * 1000 - this.#ctx.clock.now();
    if (remaining <= 0) return;
    const check = async () => {
      const { tokenSource } = this.#ctx;
      const late = exp * 1000 - this.#ctx.clock.now() < ((exp - iat) * 1000) / 4;
      let fresh = await tokenSource.current();
      if (fresh === this.#ownToken && late) fresh = await tokenSource.refresh();
      if (this.#ownToken === undefined || !conn.isOpen) return;
      if (fresh !== this.#ownToken) {
        conn.send({ type: 'tokenRefresh', token: fresh });
        this.#ctx.metrics.tokenRefreshes.inc({ direction: 'sent' });
      }
      this.startOwnToken(fresh, conn);
    };
    this.#ownTokenTimer = setTimeout(
      () => {
        check().catch((error: unknown) => {
          this.#ctx.logger.warn({ err: error, peer: this.#peerId }, 'token refresh failed');
          if (this.#ownToken !== undefined && conn.isOpen) this.startOwnToken(token, conn);
        });
      },
      Math.max(MIN_TOKEN_CHECK_MS, remaining / 2),
    );
    this.#ownTokenTimer.unref();
  }

  #cached(
    cache: Map<string, boolean>,
    topic: string,
    scopeOf: (claims: TokenClaims) => readonly string[],
  ): boolean {
    const claims = this.#claims;
    if (claims === undefined) return false;
    let verdict = cache.get(topic);
    if (verdict === undefined) {
      verdict = scopeOf(claims).some((filter) => topicMatches(filter, topic));
      if (cache.size >= MAX_SCOPE_CACHE) cache.clear();
      cache.set(topic, verdict);
    }
    return verdict;
  }
}
