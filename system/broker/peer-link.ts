import type WebSocket from 'ws';
import type { RevocationCheck, TokenSource, TokenWallet } from '../auth/index.ts';
import type { TlsTrust } from '../common/index.ts';
import {
  brokerTarget,
  DEFAULT_MAX_CONTROL_BYTES,
  type ErrorCode,
  type HelloFrame,
  type PeerFrame,
  type PublishFrame,
  type TokenClaims,
} from '../protocol/index.ts';
import type { LinkState } from './broker-metrics.ts';
import { extendContext } from './extend-context.ts';
import { LinkDialing } from './link-dialing.ts';
import type { LinkHeartbeat } from './link-heartbeat.ts';
import { LinkInbound } from './link-inbound.ts';
import { LinkSubscriptions } from './link-subscriptions.ts';
import { PeerAuthority, type PeerAuthorityContext } from './peer-authority.ts';
import { type LinkDirection, PeerConnection } from './peer-connection.ts';
import type { DialedPeer } from './peer-dialer.ts';
import { PeerFilters } from './peer-filters.ts';
import { PeerOutbox, type PeerOutboxContext } from './peer-outbox.ts';

/** What a peer link reports; the broker service re-emits these as its `events`. */
export type LinkEvent =
  | { type: 'link-open'; peer: string; direction: LinkDirection }
  | { type: 'link-closed'; peer: string; code: string }
  /** The peer granted (`granted`) or refused (`denied`) filters this broker subscribed. */
  | { type: 'subscribe-ack'; peer: string; granted: string[]; denied: string[] }
  /** The peer subscribed filters here; `granted` are the ones it may have. */
  | { type: 'peer-subscribed'; peer: string; granted: string[]; denied: string[] }
  | { type: 'peer-unsubscribed'; peer: string; filters: string[] }
  /** Discovery told this broker what the peer's clients want (its advertised interest). */
  | { type: 'peer-interest'; peer: string; interest: string[] };

/** Frames read while a token is verified (reading is held then); beyond this the link closes. */
const MAX_HELD_FRAMES = 4096;

/** Everything the links of one broker service share. */
export interface PeerLinkContext
  extends Omit<PeerAuthorityContext, 'tokenSource'>,
    Omit<PeerOutboxContext, 'maxBytes' | 'maxAgeMs' | 'highWaterBytes'> {
  /** Our tokens; each link shows its peer only the one made for that peer. */
  readonly tokens: TokenWallet;
  /** The CA peers' link servers must be signed by (wss://). */
  readonly tls?: TlsTrust | undefined;
  readonly maxPayloadBytes: number;
  /** Pings every open connection of this broker's links. */
  readonly heartbeat: LinkHeartbeat;
  readonly linkIdleGraceMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly outboxHighWaterBytes: number;
  readonly outboxMaxBytes: number;
  readonly outboxMaxAgeMs: number;
  /** What a peer may hold subscribed here (link-subscriptions.ts). */
  readonly maxPeerFilters: number;
  readonly maxPeerFilterBytes: number;
  readonly random: () => number;
  /** Hands a publish from a peer to the local MQTT clients; `done` once the broker is through. */
  deliver(frame: PublishFrame, done: () => void): void;
  emit(event: LinkEvent): void;
}

/**
 * Everything this broker service shares with one other broker service, over at most one
 * WebSocket at a time, whoever dialed it. [design] The link is used both ways: each side
 * subscribes what its own clients want and forwards what the other side wants. It outlives its
 * connections: the outbound stream (peer-outbox.ts) and the inbound one (inbound-stream.ts) run
 * on across reconnects, and what is wanted is subscribed again on every new connection. This
 * file is the wiring of one connection's life; the parts are:
 * - link-dialing.ts: when and where to dial;
 * - peer-authority.ts: the peer's token and scope, and ours;
 * - link-subscriptions.ts: SUBSCRIBE/UNSUBSCRIBE/ACK both ways;
 * - peer-outbox.ts (sending) and link-inbound.ts (receiving): PUBLISH and PUBACK, at least once.
 */
export class PeerLink {
  readonly peerId: string;
  readonly #ctx: PeerLinkContext;
  /** Tokens whose audience is this peer alone. */
  readonly #ownTokens: TokenSource;
  readonly #outbox: PeerOutbox;
  readonly #inbound: LinkInbound;
  readonly #authority: PeerAuthority;
  readonly #subs: LinkSubscriptions;
  readonly #dialing: LinkDialing;
  /** What the peer's clients want, as the peer advertised it in discovery. */
  readonly #interest = new PeerFilters();
  #conn: PeerConnection | undefined;
  /** False until our token is with the peer (it dialed: our TOKEN_REFRESH went out). */
  #ready = false;
  #peerHello: HelloFrame | undefined;
  /** The peer's payload limit from its last HELLO; ours until one arrived. */
  #peerMaxPayload: number;
  /** The peer's first PUBACK on this connection: where our stream resumes. */
  #resumeAt: number | undefined;
  #streaming = false;
  /** Frames that arrived while a peer token was being verified; handled after it, in order. */
  #held: PeerFrame[] = [];
  #verifying = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(peerId: string, ctx: PeerLinkContext) {
    this.peerId = peerId;
    this.#ctx = ctx;
    this.#peerMaxPayload = ctx.maxPayloadBytes;
    this.#subs = new LinkSubscriptions(ctx);
    this.#outbox = new PeerOutbox(
      peerId,
      extendContext(ctx, {
        maxBytes: ctx.outboxMaxBytes,
        maxAgeMs: ctx.outboxMaxAgeMs,
        highWaterBytes: ctx.outboxHighWaterBytes,
      }),
    );
    this.#inbound = new LinkInbound(
      peerId,
      extendContext(ctx, {
        mayOffer: (topic: string) => this.#authority.mayOffer(topic),
        deny: (code: ErrorCode) => this.#deny(code),
        send: (frame: PeerFrame) => {
          if (this.#peerHello !== undefined) this.#conn?.send(frame);
        },
      }),
    );
    this.#ownTokens = ctx.tokens.source(brokerTarget(peerId));
    this.#authority = new PeerAuthority(
      peerId,
      extendContext(ctx, { tokenSource: this.#ownTokens }),
    );
    this.#dialing = new LinkDialing(
      extendContext(ctx, {
        tokenSource: this.#ownTokens,
        peerId,
        needed: () => this.#subs.wanted.size > 0 || this.#outbox.size > 0,
        connected: () => this.#conn !== undefined,
        onDialed: (dialed: DialedPeer) => this.#attach(dialed.ws, 'outbound', undefined, dialed),
      }),
    );
  }

  get state(): LinkState | 'down' {
    if (this.#conn !== undefined) return this.#isIdle() ? 'idle' : 'open';
    return this.#dialing.active ? 'connecting' : 'down';
  }

  get wanted(): string[] {
    return [...this.#subs.wanted].sort();
  }

  get peerFilters(): string[] {
    return [...this.#subs.peerFilters].sort();
  }

  get interest(): string[] {
    return [...this.#interest].sort();
  }

  get outbox(): { messages: number; bytes: number } {
    return { messages: this.#outbox.size, bytes: this.#outbox.bytes };
  }

  /** Where the peer's link server listens, from discovery; `undefined` once it left. */
  setUrl(url: string | undefined): void {
    this.#dialing.setUrl(url);
  }

  /** The filters this broker wants from the peer now; the difference goes out at once. */
  want(filters: Iterable<string>): void {
    this.#subs.want(filters, this.#sender());
    this.#dialing.dialIfNeeded();
    this.#checkIdle();
  }

  /**
   * What the peer's clients want, from discovery. [design] Publishes matching it are queued for
   * the peer even before the peer subscribed them on a link (or before a link exists): this is
   * what makes the first publish on a brand-new topic reach a remote subscriber.
   */
  setInterest(filters: readonly string[]): void {
    this.#interest.clear();
    for (const filter of filters) this.#interest.add(filter);
    this.#ctx.emit({ type: 'peer-interest', peer: this.peerId, interest: this.interest });
  }

  /**
   * Whether to take a connection the peer dialed. [design] When both dial at once, the
   * connection dialed by the smaller id wins: that side refuses the other's dial (LINK_EXISTS),
   * and the other side takes the dial it receives in place of its own.
   */
  acceptsInbound(): boolean {
    if (this.#closed) return false;
    const dialedHere = this.#dialing.dialing || this.#conn?.direction === 'outbound';
    return !(dialedHere && this.#ctx.selfId < this.peerId);
  }

  /** Takes a connection the peer dialed, whose token (`claims`) the link server verified. */
  attachInbound(ws: WebSocket, claims: TokenClaims): void {
    this.#attach(ws, 'inbound', claims);
  }

  /**
   * Queues a local publish for the peer if the peer wants it (subscribed on the link, or
   * advertised in discovery). The hot path: set lookups for exact filters, no allocation unless
   * the publish is queued. False when a QoS 1 publish was refused (see PeerOutbox.enqueue).
   */
  forward(
    topic: string,
    payload: Uint8Array,
    qos: 0 | 1,
    retain: boolean,
    versionTime?: number,
  ): boolean {
    if (!this.#subs.peerFilters.matches(topic) && !this.#interest.matches(topic)) return true;
    if (payload.length > this.#peerMaxPayload) {
      // [design] Refused and counted here, rather than sent and costing the peer the link.
      this.#ctx.metrics.dropped.inc({ reason: 'payload_too_large' });
      this.#ctx.logger.warn(
        { peer: this.peerId, topic, bytes: payload.length, limit: this.#peerMaxPayload },
        'publish too large for the peer; not forwarded',
      );
      return true;
    }
    const queued = this.#outbox.enqueue(topic, payload, qos, retain, versionTime);
    if (this.#conn === undefined) this.#dialing.dialIfNeeded();
    // A queued publish makes the link busy: only a pending idle close needs cancelling.
    else if (this.#idleTimer !== undefined) this.#checkIdle();
    return queued;
  }

  /**
   * Closes the connection with TOKEN_REVOKED if the peer's verified token is now revoked; true
   * when it did. The link itself lives on: a fresh token of the peer may link again. [design]
   */
  closeIfRevoked(revocations: RevocationCheck): boolean {
    const conn = this.#conn;
    const claims = this.#authority.claims;
    if (conn === undefined || claims === undefined || !revocations.isRevoked(claims)) return false;
    this.#deny('TOKEN_REVOKED');
    conn.close('TOKEN_REVOKED');
    return true;
  }

  /** Ends the link for good (service shutdown); the outbox stays in the store. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#dialing.close();
    this.#outbox.close();
    this.#inbound.close();
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
      heartbeat: this.#ctx.heartbeat,
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
    metrics.linksOpened.inc({ direction });
    // Our HELLO goes first: reading the peer's HELLO makes us answer it with a PUBACK.
    conn.send({
      type: 'hello',
      brokerId: this.#ctx.selfId,
      stream: this.#outbox.streamId,
      maxPayloadBytes: this.#ctx.maxPayloadBytes,
    });
    if (peerClaims !== undefined) this.#authority.accept(peerClaims, conn);
    // Frames that arrived between the dial's 'open' and now are handled first, in order.
    conn.start(dialed?.takeEarly() ?? []);
    if (dialed !== undefined) {
      // We dialed: the peer checked our token in the upgrade.
      this.#authority.startOwnToken(dialed.token, conn);
      this.#becomeReady(conn);
    } else {
      // The peer dialed: it learns who we are from a TOKEN_REFRESH sent before anything else.
      this.#ownTokens.current().then(
        (token) => {
          if (conn !== this.#conn) return;
          conn.send({ type: 'tokenRefresh', token });
          this.#authority.startOwnToken(token, conn);
          this.#becomeReady(conn);
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

  #becomeReady(conn: PeerConnection): void {
    this.#ready = true;
    this.#subs.subscribeAll((frame) => conn.send(frame));
    this.#startStreaming();
  }

  /**
   * Publishes flow once the peer said where to resume, its token is verified, and ours is with
   * it (else it would refuse them for want of our scope).
   */
  #startStreaming(): void {
    const conn = this.#conn;
    if (conn === undefined || this.#streaming || this.#resumeAt === undefined) return;
    if (!this.#ready || !this.#authority.verified) return;
    this.#streaming = true;
    if (!this.#outbox.resume(this.#resumeAt, (topic) => this.#authority.mayReceive(topic))) {
      conn.close('STREAM_RESET');
      return;
    }
    // Only a link that got this far resets the backoff: one that fails earlier (a refused
    // token, a bad frame, a stream reset) must not be redialed in a tight loop.
    this.#dialing.succeeded();
  }

  /** Forgets everything that belonged to the current connection. */
  #detach(): void {
    this.#conn = undefined;
    this.#outbox.attach(undefined);
    this.#authority.reset();
    this.#subs.reset();
    this.#ready = false;
    this.#peerHello = undefined;
    this.#resumeAt = undefined;
    this.#streaming = false;
    this.#held = [];
    this.#verifying = false;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #lost(code: string): void {
    this.#detach();
    this.#ctx.emit({ type: 'link-closed', peer: this.peerId, code });
    this.#ctx.logger.info({ peer: this.peerId, code }, 'peer link closed');
    this.#dialing.dialIfNeeded();
  }

  #sender(): ((frame: PeerFrame) => void) | undefined {
    const conn = this.#conn;
    return conn !== undefined && this.#ready ? (frame) => conn.send(frame) : undefined;
  }

  // --- frames from the peer ------------------------------------------------------------------

  #receive(frame: PeerFrame): void {
    if (this.#verifying) {
      // Reading is held while verifying; these are what was already read. Bounded regardless.
      if (this.#held.length >= MAX_HELD_FRAMES) {
        this.#conn?.close('BODY_TOO_LARGE');
        return;
      }
      this.#held.push(frame);
      return;
    }
    const conn = this.#conn!;
    if (this.#peerHello === undefined && frame.type !== 'hello') {
      conn.close('FRAME_MALFORMED');
      return;
    }
    const send = (reply: PeerFrame) => conn.send(reply);
    switch (frame.type) {
      case 'publish':
        this.#inbound.receive(frame, conn);
        return;
      case 'puback':
        if (this.#streaming) this.#outbox.acknowledge(frame.next);
        else {
          this.#resumeAt = Math.max(this.#resumeAt ?? 0, frame.next);
          this.#startStreaming();
        }
        this.#checkIdle();
        return;
      case 'hello':
        if (frame.brokerId !== this.peerId) {
          this.#deny('IDENTITY_MISMATCH');
          conn.close('IDENTITY_MISMATCH');
          return;
        }
        this.#peerHello = frame;
        this.#peerMaxPayload = frame.maxPayloadBytes;
        // Where the peer's stream resumes: everything below was delivered here before.
        send(this.#inbound.begin(frame.stream));
        return;
      case 'subscribe': {
        const outcome = this.#subs.peerSubscribes(
          frame.requestId,
          frame.filters,
          (filter) => this.#authority.subscribeRefusal(filter),
          send,
        );
        for (const code of outcome.codes) this.#deny(code);
        if (outcome.denied.length > 0) {
          this.#ctx.logger.warn(
            { peer: this.peerId, denied: outcome.denied },
            'peer subscription denied',
          );
        }
        this.#ctx.emit({
          type: 'peer-subscribed',
          peer: this.peerId,
          granted: outcome.granted,
          denied: outcome.denied,
        });
        this.#checkIdle();
        return;
      }
      case 'unsubscribe':
        this.#subs.peerUnsubscribes(frame.requestId, frame.filters, send);
        this.#ctx.emit({ type: 'peer-unsubscribed', peer: this.peerId, filters: frame.filters });
        this.#checkIdle();
        return;
      case 'ack': {
        const outcome = this.#subs.acknowledged(frame);
        if (outcome === undefined) return;
        if (outcome.denied.length > 0) {
          this.#ctx.logger.warn(
            { peer: this.peerId, denied: frame.results },
            'peer denied filters',
          );
        }
        this.#ctx.emit({ type: 'subscribe-ack', peer: this.peerId, ...outcome });
        return;
      }
      case 'error':
        this.#ctx.logger.warn(
          { peer: this.peerId, code: frame.code, reason: frame.message },
          'peer reported an error',
        );
        return;
      case 'tokenRefresh':
        this.#verifyPeerToken(frame.token, conn);
        return;
    }
  }

  #deny(code: ErrorCode): void {
    this.#ctx.metrics.denials.inc({ code });
  }

  #verifyPeerToken(token: string, conn: PeerConnection): void {
    this.#verifying = true;
    conn.holdReading(true);
    void this.#authority.verify(token).then((result) => {
      if (conn !== this.#conn) return;
      this.#verifying = false;
      conn.holdReading(false);
      if (typeof result === 'string') {
        this.#deny(result);
        conn.close(result);
        return;
      }
      // A narrower scope takes away the filters it no longer covers.
      this.#authority.accept(result, conn);
      const pruned = this.#subs.prune((f) => this.#authority.subscribeRefusal(f) === undefined);
      for (let i = 0; i < pruned; i += 1) this.#deny('SCOPE_DENIED');
      this.#ctx.metrics.tokenRefreshes.inc({ direction: 'received' });
      while (this.#held.length > 0 && !this.#verifying && this.#conn === conn) {
        this.#receive(this.#held.shift()!);
      }
      this.#startStreaming();
    });
  }

  // --- idleness ------------------------------------------------------------------------------

  #isIdle(): boolean {
    return (
      this.#subs.wanted.size === 0 && this.#subs.peerFilters.size === 0 && this.#outbox.size === 0
    );
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
