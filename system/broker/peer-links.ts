import type WebSocket from 'ws';
import type { RevocationCheck } from '../auth/index.ts';
import { filtersIntersect, type TokenClaims } from '../protocol/index.ts';
import type { LinkState } from './broker-metrics.ts';
import { narrowToScope } from './consume-scope.ts';
import type { InterestTable } from './interest-table.ts';
import type { PeerDirectory } from './peer-directory.ts';
import { PeerLink, type PeerLinkContext } from './peer-link.ts';

export interface LinkSnapshot {
  peer: string;
  state: LinkState | 'down';
  /** Filters this broker subscribes on the peer. */
  wanted: string[];
  /** Filters the peer subscribes here. */
  peerFilters: string[];
  /** What the peer's clients want, as discovery told it. */
  interest: string[];
  /** Publishes waiting for the peer to acknowledge them. */
  outbox: { messages: number; bytes: number };
}

/**
 * The peer links of one broker service, one per peer, and the rule that decides which exist:
 * a link is wanted exactly when some local interest, narrowed to this broker's consume scope,
 * intersects the peer's advertised topic space. [design]
 */
export class PeerLinks {
  readonly #links = new Map<string, PeerLink>();
  readonly #ctx: PeerLinkContext;
  readonly #interest: InterestTable;
  readonly #scope: readonly string[];
  #directory: PeerDirectory | undefined;

  constructor(ctx: PeerLinkContext, interest: InterestTable, consumeScope: readonly string[]) {
    this.#ctx = ctx;
    this.#interest = interest;
    this.#scope = consumeScope;
    // Outboxes kept in the data directory from before a restart: their peers are linked again
    // (once discovery says where they are) and get what they have not acknowledged.
    for (const peerId of ctx.store.peersWithOutbox()) this.#linkFor(peerId);
  }

  /** Set once discovery is being watched; until then no peer is known. */
  useDirectory(directory: PeerDirectory): void {
    this.#directory = directory;
    this.refreshAll();
  }

  #linkFor(peerId: string): PeerLink {
    let link = this.#links.get(peerId);
    if (link === undefined) {
      link = new PeerLink(peerId, this.#ctx);
      this.#links.set(peerId, link);
    }
    return link;
  }

  /** Recomputes what this broker wants from one peer (its record or local interest changed). */
  refresh(peerId: string, narrowed = this.narrowedInterest()): void {
    const record = this.#directory?.get(peerId);
    const existing = this.#links.get(peerId);
    if (record === undefined) {
      // The peer left discovery: stop wanting (and redialing) it; its link lingers if in use.
      // Its outbox is kept (bounded by age and bytes) for when it comes back.
      existing?.setInterest([]);
      existing?.want([]);
      existing?.setUrl(undefined);
      return;
    }
    const topics = [...record.topics];
    const wanted = narrowed.filter((filter) =>
      topics.some((topic) => filtersIntersect(filter, topic)),
    );
    if (wanted.length === 0 && record.interest.size === 0 && existing === undefined) return;
    const link = existing ?? this.#linkFor(peerId);
    link.setInterest([...record.interest]);
    link.setUrl(record.linkUrl);
    link.want(wanted);
  }

  /** What this broker's clients want, narrowed to what it may consume: what it advertises. */
  narrowedInterest(): string[] {
    return narrowToScope(this.#interest.effective(), this.#scope);
  }

  refreshAll(): void {
    const narrowed = this.narrowedInterest();
    const known = new Set<string>(this.#links.keys());
    for (const record of this.#directory?.peers() ?? []) known.add(record.id);
    for (const peerId of known) this.refresh(peerId, narrowed);
  }

  acceptsInbound(peerId: string): boolean {
    return this.#links.get(peerId)?.acceptsInbound() ?? true;
  }

  attachInbound(ws: WebSocket, claims: TokenClaims): void {
    const link = this.#linkFor(claims.sub);
    if (!link.acceptsInbound()) {
      ws.close(4409, 'LINK_EXISTS');
      return;
    }
    link.attachInbound(ws, claims);
    // The directory may not know the peer's URL yet; it is only needed to dial it again.
    const record = this.#directory?.get(claims.sub);
    if (record !== undefined) link.setUrl(record.linkUrl);
  }

  /**
   * A local client's publish: queued for every peer that wants it. False when a peer's outbox
   * refused a QoS 1 publish: the publisher must not be acknowledged.
   */
  forward(
    topic: string,
    payload: Uint8Array,
    qos: 0 | 1,
    retain: boolean,
    versionTime?: number,
  ): boolean {
    let queued = true;
    for (const link of this.#links.values()) {
      queued = link.forward(topic, payload, qos, retain, versionTime) && queued;
    }
    return queued;
  }

  /** Closes the connections of peers whose tokens are now revoked; answers their ids. */
  closeRevoked(revocations: RevocationCheck): string[] {
    const closed: string[] = [];
    for (const link of this.#links.values()) {
      if (link.closeIfRevoked(revocations)) closed.push(link.peerId);
    }
    return closed;
  }

  /** Everything waiting in outboxes, for the metrics. */
  outboxTotals(): { messages: number; bytes: number } {
    let messages = 0;
    let bytes = 0;
    for (const link of this.#links.values()) {
      const outbox = link.outbox;
      messages += outbox.messages;
      bytes += outbox.bytes;
    }
    return { messages, bytes };
  }

  states(): Record<LinkState, number> {
    const counts: Record<LinkState, number> = { connecting: 0, open: 0, idle: 0 };
    for (const link of this.#links.values()) {
      const state = link.state;
      if (state !== 'down') counts[state] += 1;
    }
    return counts;
  }

  snapshot(): LinkSnapshot[] {
    return [...this.#links.values()]
      .map((link) => ({
        peer: link.peerId,
        state: link.state,
        wanted: link.wanted,
        peerFilters: link.peerFilters,
        interest: link.interest,
        outbox: link.outbox,
      }))
      .sort((a, b) => (a.peer < b.peer ? -1 : 1));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#links.values()].map((link) => link.close()));
  }
}
