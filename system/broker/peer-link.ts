import { decodeJwt } from 'jose';
import type WebSocket from 'ws';
import type { TokenSource, TokenVerifier } from '../auth/index.ts';
import type { Clock, Logger } from '../common/index.ts';
import {
  DEFAULT_MAX_CONTROL_BYTES,
  type ErrorCode,
  filterCovers,
  type HelloFrame,
  MAX_FILTERS_PER_FRAME,
  type PeerFrame,
  type PublishFrame,
  type TokenClaims,
  toMqfedError,
  topicMatches,
} from '../protocol/index.ts';
import { backoffDelay } from './backoff.ts';
import type { BrokerMetrics, LinkState } from './broker-metrics.ts';
import { type LinkDirection, PeerConnection } from './peer-connection.ts';
import { type DialedPeer, dialPeer } from './peer-dialer.ts';
import { PeerFilters } from './peer-filters.ts';
import { createDirectOutbox, type PeerOutbox } from './peer-outbox.ts';
import type { SequenceTracker } from './sequence-tracker.ts';

/** What a peer link reports; the broker service re-emits these as its `events`. */
export type LinkEvent =
  | { type: 'link-open'; peer: string; direction: LinkDirection }
  | { type: 'link-closed'; peer: string; code: string }
  /** The peer granted (`granted`) or refused (`denied`) filters this broker subscribed. */
  | { type: 'subscribe-ack'; peer: string; granted: string[]; denied: string[] }
  /** The peer subscribed filters here; `granted` are the ones it may have. */
  | { type: 'peer-subscribed'; peer: string; granted: string[]; denied: string[] }
  | { type: 'peer-unsubscribed'; peer: string; filters: string[] };

/** Everything the links of one broker service share. */
export interface PeerLinkContext {
  readonly selfId: string;
  /** Start time of this broker service; peers reset our sequence numbering when it changes. */
  readonly epoch: number;
  readonly maxPayloadBytes: number;
  readonly pingIntervalMs: number;
  readonly linkIdleGraceMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly outboxHighWaterBytes: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
  readonly tokenSource: TokenSource;
  readonly verifier: TokenVerifier;
  readonly sequences: SequenceTracker;
  /** Hands a publish from a peer to the local MQTT clients; `done` once the broker is through. */
  deliver(frame: PublishFrame, done: () => void): void;
  emit(event: LinkEvent): void;
}

// Our token is looked at again at half its remaining lifetime, but never more often than this.
const MIN_TOKEN_CHECK_MS = 50;
// A peer's `pub` scope verdicts are cached per topic; the cache is dropped when it grows past this.
const MAX_SCOPE_CACHE = 10_000;

/**
 * Everything this broker service shares with one other broker service, over at most one
 * WebSocket at a time, whoever dialed it. [design] The link is used both ways: each side
 * subscribes what its own clients want and forwards what the other side subscribed. It survives
 * its connections: the filters wanted here are subscribed again on every new connection, and the
 * sequence numbering of publishes sent to this peer runs on across reconnects.
 */
export class PeerLink {
  readonly peerId: string;
  readonly #ctx: PeerLinkContext;
  readonly #outbox: PeerOutbox;
  #url: string | undefined;
  #conn: PeerConnection | undefined;
  /** False while an accepted connection waits for our token to go out (peer-side authorization). */
  #ready = false;
  #peerHello: HelloFrame | undefined;
  #peerClaims: TokenClaims | undefined;
  #peerExpiryTimer: NodeJS.Timeout | undefined;
  #ownToken: string | undefined;
  #ownTokenTimer: NodeJS.Timeout | undefined;
  /** Frames that arrived while a peer token was being verified; handled after it, in order. */
  #held: PeerFrame[] = [];
  #verifying = false;
  /** Filters this broker's clients want from the peer. */
  #wanted = new Set<string>();
  /** Filters subscribed on the current connection. */
  readonly #sent = new Set<string>();
  /** Filters the peer subscribed here, on the current connection. */
  readonly #peerFilters = new PeerFilters();
  readonly #offerVerdicts = new Map<string, boolean>();
  #nextSeq = 0;
  #nextRequestId = 0;
  /** Requests sent on the current connection and not yet acknowledged. */
  readonly #pending = new Map<number, 'subscribe' | 'unsubscribe'>();
  #dialing = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(peerId: string, ctx: PeerLinkContext) {
    this.peerId = peerId;
    this.#ctx = ctx;
    this.#outbox = createDirectOutbox(ctx.outboxHighWaterBytes);
  }

  get state(): LinkState | 'down' {
    if (this.#conn !== undefined) return this.#isIdle() ? 'idle' : 'open';
    return this.#dialing || this.#retryTimer !== undefined ? 'connecting' : 'down';
  }

  get wanted(): string[] {
    return [...this.#wanted].sort();
  }

  get peerFilters(): string[] {
    return [...this.#peerFilters].sort();
  }

  /** Where the peer's link server listens, from discovery; `undefined` once it left. */
  setUrl(url: string | undefined): void {
    if (url !== undefined && url !== this.#url) {
      // A new address from discovery (the peer registered again, e.g. after a restart): the
      // failures that grew the backoff were against the old one, so dial the new one at once.
      this.#attempt = 0;
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    this.#url = url;
    if (url !== undefined) this.#dialIfNeeded();
  }

  /** The filters this broker wants from the peer now; the difference goes out at once. */
  want(filters: Iterable<string>): void {
    const next = new Set(filters);
    const added = [...next].filter((filter) => !this.#wanted.has(filter));
    const removed = [...this.#wanted].filter((filter) => !next.has(filter));
    this.#wanted = next;
    if (this.#conn !== undefined && this.#ready) {
      // Subscribe before unsubscribing, so a narrower filter replacing a broader one loses nothing.
      this.#subscribe(added);
      this.#unsubscribe(removed);
    }
    this.#dialIfNeeded();
    this.#checkIdle();
  }

  /**
   * Whether to take a connection the peer dialed. [design] When both dial at once, the
   * connection dialed by the smaller id wins: that side refuses the other's dial (LINK_EXISTS),
   * and the other side takes the dial it receives in place of its own.
   */
  acceptsInbound(): boolean {
    if (this.#closed) return false;
    const dialedHere = this.#dialing || this.#conn?.direction === 'outbound';
    return !(dialedHere && this.#ctx.selfId < this.peerId);
  }

  /** Takes a connection the peer dialed, whose token (`claims`) the link server verified. */
  attachInbound(ws: WebSocket, claims: TokenClaims): void {
    this.#attach(ws, 'inbound', claims);
  }

  /**
   * Sends a local publish to the peer if it subscribed a matching filter. The hot path: one set
   * lookup for exact filters, no allocation unless the publish is sent.
   */
  forward(topic: string, payload: Uint8Array, qos: 0 | 1, retain: boolean): void {
    const hello = this.#peerHello;
    if (hello === undefined || !this.#peerFilters.matches(topic)) return;
    const { metrics } = this.#ctx;
    if (payload.length > hello.maxPayloadBytes) {
      // [design] Refused and counted here, rather than sent and costing the peer the link.
      metrics.dropped.inc({ reason: 'payload_too_large' });
      this.#ctx.logger.warn(
        { peer: this.peerId, topic, bytes: payload.length, limit: hello.maxPayloadBytes },
        'publish too large for the peer; not forwarded',
      );
      return;
    }
    const frame: PublishFrame = {
      type: 'publish',
      qos,
      retain,
      dup: false,
      origin: this.#ctx.selfId,
      seq: this.#nextSeq,
      topic,
      payload,
    };
    this.#nextSeq += 1;
    const result = this.#outbox.offer(frame);
    if (result === 'sent') metrics.hot.forwarded += 1;
    else if (result === 'backpressure') metrics.dropped.inc({ reason: 'backpressure' });
  }

  /** Ends the link for good (service shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const conn = this.#conn;
    conn?.close('GOING_AWAY');
    await conn?.closed;
  }

  // --- connections ---------------------------------------------------------------------------

  #attach(
    ws: WebSocket,
    direction: LinkDirection,
    peerClaims?: TokenClaims,
    dialed?: DialedPeer,
  ): void {
    const previous = this.#conn;
    if (previous !== undefined) {
      this.#detach();
      previous.close('LINK_EXISTS');
    }
    const { metrics } = this.#ctx;
    const conn: PeerConnection = new PeerConnection(ws, {
      direction,
      limits: {
        maxPayloadBytes: this.#ctx.maxPayloadBytes,
        maxControlBytes: DEFAULT_MAX_CONTROL_BYTES,
      },
      traffic: metrics.trafficOf(this.peerId),
      pingIntervalMs: this.#ctx.pingIntervalMs,
      onFrame: (frame) => {
        if (conn === this.#conn) this.#receive(frame);
      },
      onClose: (code) => {
        metrics.linksClosed.inc({ code });
        if (conn === this.#conn) this.#lost(code);
      },
    });
    this.#conn = conn;
    this.#outbox.attach(conn);
    // Frames that arrived between the dial's 'open' and now are handled first, in order.
    conn.start(dialed?.takeEarly() ?? []);
    metrics.linksOpened.inc({ direction });
    conn.send({
      type: 'hello',
      brokerId: this.#ctx.selfId,
      epoch: this.#ctx.epoch,
      maxPayloadBytes: this.#ctx.maxPayloadBytes,
    });
    if (peerClaims !== undefined) this.#acceptPeerClaims(peerClaims);
    if (dialed !== undefined) {
      // We dialed: the peer checked our token in the upgrade.
      this.#ownToken = dialed.token;
      this.#becomeReady();
    } else {
      // The peer dialed: it learns who we are from a TOKEN_REFRESH sent before anything else.
      this.#ctx.tokenSource.current().then(
        (token) => {
          if (conn !== this.#conn) return;
          this.#ownToken = token;
          conn.send({ type: 'tokenRefresh', token });
          this.#becomeReady();
        },
        (error: unknown) => {
          this.#ctx.logger.warn({ err: error, peer: this.peerId }, 'no token for the peer');
          if (conn === this.#conn) conn.close('KEYS_UNAVAILABLE');
        },
      );
    }
    this.#ctx.emit({ type: 'link-open', peer: this.peerId, direction });
    this.#checkIdle();
  }

  #becomeReady(): void {
    this.#ready = true;
    this.#subscribe([...this.#wanted]);
    this.#scheduleOwnTokenCheck();
  }

  /** Forgets everything that belonged to the current connection. */
  #detach(): void {
    this.#conn = undefined;
    this.#outbox.attach(undefined);
    this.#ready = false;
    this.#peerHello = undefined;
    this.#peerClaims = undefined;
    this.#offerVerdicts.clear();
    this.#held = [];
    this.#verifying = false;
    this.#sent.clear();
    this.#pending.clear();
    this.#peerFilters.clear();
    clearTimeout(this.#peerExpiryTimer);
    clearTimeout(this.#ownTokenTimer);
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #lost(code: string): void {
    this.#detach();
    this.#ctx.emit({ type: 'link-closed', peer: this.peerId, code });
    this.#ctx.logger.info({ peer: this.peerId, code }, 'peer link closed');
    this.#dialIfNeeded();
  }

  #dialIfNeeded(): void {
    if (this.#closed || this.#conn !== undefined || this.#dialing) return;
    if (this.#url === undefined || this.#wanted.size === 0) return;
    if (this.#retryTimer !== undefined) return;
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

  async #dial(): Promise<void> {
    const url = this.#url;
    if (this.#closed || this.#conn !== undefined || url === undefined || this.#wanted.size === 0) {
      return;
    }
    this.#dialing = true;
    let dialed: DialedPeer;
    try {
      const token = await this.#ctx.tokenSource.current();
      dialed = await dialPeer(url, token, this.#ctx.maxPayloadBytes);
    } catch (error) {
      this.#dialing = false;
      const failure = toMqfedError(error);
      this.#ctx.logger.warn(
        { peer: this.peerId, url, code: failure.code, reason: failure.message },
        'peer link dial failed',
      );
      // A refused token may be one the auth service has since replaced: fetch a new one.
      if (failure.code.startsWith('TOKEN_')) this.#ctx.tokenSource.refresh().catch(() => {});
      this.#dialIfNeeded();
      return;
    }
    this.#dialing = false;
    if (this.#closed || this.#conn !== undefined) {
      // The peer's own dial won meanwhile (or we are shutting down): keep one link per pair.
      dialed.ws.close(1000, this.#closed ? 'GOING_AWAY' : 'LINK_EXISTS');
      return;
    }
    this.#attach(dialed.ws, 'outbound', undefined, dialed);
  }

  // --- frames from the peer ------------------------------------------------------------------

  #receive(frame: PeerFrame): void {
    if (this.#verifying) {
      this.#held.push(frame);
      return;
    }
    const conn = this.#conn!;
    if (this.#peerHello === undefined && frame.type !== 'hello') {
      conn.close('FRAME_MALFORMED');
      return;
    }
    switch (frame.type) {
      case 'publish':
        this.#receivePublish(frame);
        return;
      case 'hello':
        if (frame.brokerId !== this.peerId) {
          this.#deny('IDENTITY_MISMATCH');
          conn.close('IDENTITY_MISMATCH');
          return;
        }
        this.#peerHello = frame;
        this.#attempt = 0;
        this.#ctx.sequences.startEpoch(this.peerId, frame.epoch);
        return;
      case 'subscribe':
        this.#peerSubscribes(frame.requestId, frame.filters);
        return;
      case 'unsubscribe':
        for (const filter of frame.filters) this.#peerFilters.delete(filter);
        conn.send({
          type: 'ack',
          requestId: frame.requestId,
          results: frame.filters.map((filter) => ({ filter, granted: true as const })),
        });
        this.#ctx.emit({ type: 'peer-unsubscribed', peer: this.peerId, filters: frame.filters });
        this.#checkIdle();
        return;
      case 'ack': {
        const request = this.#pending.get(frame.requestId);
        this.#pending.delete(frame.requestId);
        if (request !== 'subscribe') return;
        const granted = frame.results.filter((r) => r.granted).map((r) => r.filter);
        const denied = frame.results.filter((r) => !r.granted).map((r) => r.filter);
        if (denied.length > 0) {
          this.#ctx.logger.warn(
            { peer: this.peerId, denied: frame.results },
            'peer denied filters',
          );
        }
        this.#ctx.emit({ type: 'subscribe-ack', peer: this.peerId, granted, denied });
        return;
      }
      case 'error':
        this.#ctx.logger.warn(
          { peer: this.peerId, code: frame.code, reason: frame.message },
          'peer reported an error',
        );
        return;
      case 'tokenRefresh':
        this.#verifyPeerToken(frame.token);
        return;
    }
  }

  #receivePublish(frame: PublishFrame): void {
    const { metrics, sequences } = this.#ctx;
    // One hop: whatever a peer sends us, it published itself.
    if (frame.origin !== this.peerId) {
      this.#deny('IDENTITY_MISMATCH');
      this.#conn?.close('IDENTITY_MISMATCH');
      return;
    }
    if (!this.#peerMayOffer(frame.topic)) {
      this.#deny('SCOPE_DENIED');
      return;
    }
    const verdict = sequences.accept(frame.origin, frame.seq);
    if (!verdict.fresh) {
      metrics.hot.duplicates += 1;
      return;
    }
    metrics.hot.gaps += verdict.gap;
    metrics.hot.delivered += 1;
    const conn = this.#conn!;
    conn.deliveryStarted();
    this.#ctx.deliver(frame, () => conn.deliveryDone());
  }

  /** Authorization at this end too: the peer's token must let it offer this topic. */
  #peerMayOffer(topic: string): boolean {
    const claims = this.#peerClaims;
    if (claims === undefined) return false;
    let verdict = this.#offerVerdicts.get(topic);
    if (verdict === undefined) {
      verdict = claims.topics.pub.some((filter) => topicMatches(filter, topic));
      if (this.#offerVerdicts.size >= MAX_SCOPE_CACHE) this.#offerVerdicts.clear();
      this.#offerVerdicts.set(topic, verdict);
    }
    return verdict;
  }

  #peerSubscribes(requestId: number, filters: string[]): void {
    const granted: string[] = [];
    const denied: string[] = [];
    const results = filters.map((filter) => {
      const code = this.#subscribeRefusal(filter);
      if (code === undefined) {
        this.#peerFilters.add(filter);
        granted.push(filter);
        return { filter, granted: true as const };
      }
      this.#deny(code);
      denied.push(filter);
      return { filter, granted: false as const, code };
    });
    this.#conn?.send({ type: 'ack', requestId, results });
    if (denied.length > 0) {
      this.#ctx.logger.warn({ peer: this.peerId, denied }, 'peer subscription denied');
    }
    this.#ctx.emit({ type: 'peer-subscribed', peer: this.peerId, granted, denied });
    this.#checkIdle();
  }

  /** A peer may subscribe only filters inside its token's consume (`sub`) scope. */
  #subscribeRefusal(filter: string): ErrorCode | undefined {
    const claims = this.#peerClaims;
    if (claims === undefined) return 'TOKEN_MISSING';
    return claims.topics.sub.some((scope) => filterCovers(scope, filter))
      ? undefined
      : 'SCOPE_DENIED';
  }

  #deny(code: ErrorCode): void {
    this.#ctx.metrics.denials.inc({ code });
  }

  // --- tokens --------------------------------------------------------------------------------

  #verifyPeerToken(token: string): void {
    const conn = this.#conn!;
    this.#verifying = true;
    this.#ctx.verifier.verify(token).then(
      (claims) => {
        if (conn !== this.#conn) return;
        this.#verifying = false;
        if (claims.role !== 'broker' || claims.sub !== this.peerId) {
          const code = claims.role !== 'broker' ? 'ROLE_FORBIDDEN' : 'IDENTITY_MISMATCH';
          this.#deny(code);
          conn.close(code);
          return;
        }
        this.#acceptPeerClaims(claims);
        this.#ctx.metrics.tokenRefreshes.inc({ direction: 'received' });
        this.#drainHeld();
      },
      (error: unknown) => {
        if (conn !== this.#conn) return;
        const { code } = toMqfedError(error);
        this.#deny(code);
        conn.close(code);
      },
    );
  }

  #drainHeld(): void {
    while (this.#held.length > 0 && !this.#verifying && this.#conn !== undefined) {
      this.#receive(this.#held.shift()!);
    }
  }

  /** New claims: a narrower scope takes away filters it no longer covers. */
  #acceptPeerClaims(claims: TokenClaims): void {
    this.#peerClaims = claims;
    this.#offerVerdicts.clear();
    for (const filter of [...this.#peerFilters]) {
      if (this.#subscribeRefusal(filter) !== undefined) {
        this.#peerFilters.delete(filter);
        this.#deny('SCOPE_DENIED');
      }
    }
    clearTimeout(this.#peerExpiryTimer);
    const conn = this.#conn;
    // A link whose token runs out without a refresh is closed.
    this.#peerExpiryTimer = setTimeout(
      () => {
        if (conn === this.#conn) conn?.close('TOKEN_EXPIRED');
      },
      Math.max(0, claims.exp * 1000 - this.#ctx.clock.now()),
    );
    this.#peerExpiryTimer.unref();
  }

  /**
   * Before our token expires, the fresh one from the token source goes to the peer. Checked at
   * half the remaining lifetime each time; past three quarters of it a new token is fetched
   * outright, so the peer holds a fresh one with a quarter of the lifetime to spare. [design]
   */
  #scheduleOwnTokenCheck(): void {
    clearTimeout(this.#ownTokenTimer);
    const token = this.#ownToken;
    if (token === undefined) return;
    const { exp = 0, iat = 0 } = decodeJwt(token);
    const remaining = exp * 1000 - this.#ctx.clock.now();
    if (remaining <= 0) return;
    const conn = this.#conn;
    const check = async () => {
      const { tokenSource } = this.#ctx;
      const late = exp * 1000 - this.#ctx.clock.now() < ((exp - iat) * 1000) / 4;
      let fresh = await tokenSource.current();
      if (fresh === this.#ownToken && late) fresh = await tokenSource.refresh();
      if (conn !== this.#conn || conn === undefined) return;
      if (fresh !== this.#ownToken) {
        this.#ownToken = fresh;
        conn.send({ type: 'tokenRefresh', token: fresh });
        this.#ctx.metrics.tokenRefreshes.inc({ direction: 'sent' });
      }
    };
    this.#ownTokenTimer = setTimeout(
      () => {
        check().then(
          () => {
            if (conn === this.#conn) this.#scheduleOwnTokenCheck();
          },
          (error: unknown) => {
            this.#ctx.logger.warn({ err: error, peer: this.peerId }, 'token refresh failed');
            if (conn === this.#conn) this.#scheduleOwnTokenCheck();
          },
        );
      },
      Math.max(MIN_TOKEN_CHECK_MS, remaining / 2),
    );
    this.#ownTokenTimer.unref();
  }

  // --- subscriptions and idleness ------------------------------------------------------------

  #subscribe(filters: string[]): void {
    const fresh = filters.filter((filter) => !this.#sent.has(filter));
    for (const filter of fresh) this.#sent.add(filter);
    this.#sendFilters('subscribe', fresh);
  }

  #unsubscribe(filters: string[]): void {
    const present = filters.filter((filter) => this.#sent.delete(filter));
    this.#sendFilters('unsubscribe', present);
  }

  #sendFilters(type: 'subscribe' | 'unsubscribe', filters: string[]): void {
    for (let start = 0; start < filters.length; start += MAX_FILTERS_PER_FRAME) {
      const requestId = this.#nextRequestId;
      this.#nextRequestId = (this.#nextRequestId + 1) % 0x1_0000_0000;
      this.#pending.set(requestId, type);
      this.#conn?.send({
        type,
        requestId,
        filters: filters.slice(start, start + MAX_FILTERS_PER_FRAME),
      });
    }
  }

  #isIdle(): boolean {
    return this.#wanted.size === 0 && this.#peerFilters.size === 0;
  }

  /** [design] An unused link lingers for a grace period, so flapping clients reuse it. */
  #checkIdle(): void {
    if (this.#conn === undefined || !this.#isIdle()) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
      return;
    }
    if (this.#idleTimer !== undefined) return;
    const conn = this.#conn;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (conn === this.#conn && this.#isIdle()) conn.close('LINK_IDLE');
    }, this.#ctx.linkIdleGraceMs);
    this.#idleTimer.unref();
  }
}
