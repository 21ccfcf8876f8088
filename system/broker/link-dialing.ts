import type { TokenSource } from '../auth/index.ts';
import type { Logger, TlsTrust } from '../common/index.ts';
import { toMqfedError } from '../protocol/index.ts';
import { backoffDelay } from './backoff.ts';
import { type DialedPeer, dialPeer } from './peer-dialer.ts';

export interface LinkDialingContext {
  readonly peerId: string;
  readonly maxPayloadBytes: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly random: () => number;
  readonly logger: Logger;
  readonly tokenSource: TokenSource;
  /** The CA peers' wss:// link servers must be signed by. */
  readonly tls?: TlsTrust | undefined;
  /** Whether the link needs a connection now (something wanted, or something to send). */
  needed(): boolean;
  /** Whether the link has a connection already (then a dial that completes is dropped). */
  connected(): boolean;
  /** A dial succeeded and is still needed. */
  onDialed(dialed: DialedPeer): void;
}

/**
 * Dialing one peer: at once the first time, then with full-jitter backoff while dials fail.
 * [design] A new address from discovery (the peer registered again, after a restart) resets the
 * backoff, since the failures that grew it were against the old address.
 */
export class LinkDialing {
  readonly #ctx: LinkDialingContext;
  #url: string | undefined;
  #dialing = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(ctx: LinkDialingContext) {
    this.#ctx = ctx;
  }

  /** Dialing or waiting to dial again. */
  get active(): boolean {
    return this.#dialing || this.#retryTimer !== undefined;
  }

  get dialing(): boolean {
    return this.#dialing;
  }

  /** Where the peer's link server listens, from discovery; `undefined` once it left. */
  setUrl(url: string | undefined): void {
    if (url !== undefined && url !== this.#url) {
      this.#attempt = 0;
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    this.#url = url;
    this.dialIfNeeded();
  }

  /** A connection got as far as the peer's HELLO: the next failure starts the backoff anew. */
  succeeded(): void {
    this.#attempt = 0;
  }

  dialIfNeeded(): void {
    if (this.#closed || this.#ctx.connected() || this.active) return;
    if (this.#url === undefined || !this.#ctx.needed()) return;
    const delay =
      this.#attempt === 0
        ? 0
        : backoffDelay(
            this.#attempt,
            this.#ctx.reconnectBaseMs,
            this.#ctx.reconnectMaxMs,
            this.#ctx.random,
          );
    this.#attempt += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#dial();
    }, delay);
    this.#retryTimer.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  async #dial(): Promise<void> {
    const url = this.#url;
    const ctx = this.#ctx;
    if (this.#closed || ctx.connected() || url === undefined || !ctx.needed()) return;
    this.#dialing = true;
    let dialed: DialedPeer;
    try {
      const token = await ctx.tokenSource.current();
      dialed = await dialPeer(url, token, ctx.maxPayloadBytes, ctx.tls);
    } catch (error) {
      this.#dialing = false;
      const failure = toMqfedError(error);
      ctx.logger.warn(
        { peer: ctx.peerId, url, code: failure.code, reason: failure.message },
        'peer link dial failed',
      );
      // A refused token may be one the auth service has since replaced: fetch a new one.
      if (failure.code.startsWith('TOKEN_')) ctx.tokenSource.refresh().catch(() => {});
      this.dialIfNeeded();
      return;
    }
    this.#dialing = false;
    if (this.#closed || ctx.connected()) {
      // The peer's own dial won meanwhile (or we are shutting down): keep one link per pair.
      dialed.ws.close(1000, this.#closed ? 'GOING_AWAY' : 'LINK_EXISTS');
      return;
    }
    ctx.onDialed(dialed);
  }
}
