/** A connection the heartbeat pings: `beat` sends a ping, or ends a peer that missed the last. */
export interface HeartbeatMember {
  beat(): void;
}

/**
 * One timer that pings every open peer connection of a broker service, each `intervalMs`.
 * [design] A timer per connection cost each link a Timeout and its closure (some 250 bytes) and
 * woke the process once per link per interval, at times of their own; one timer wakes it once
 * for all of them, as the ws documentation advises for heartbeats. A connection joining just
 * before a tick is pinged at once and still has a whole interval to answer, so a dead peer is
 * found within two intervals either way. The timer runs only while there are connections.
 * Not `startPongHeartbeat` (common/websocket-upgrade.ts): that one walks a single server's
 * clients, while half of a broker's links are sockets it dialed, which no server holds, and each
 * link names its own close (PeerConnection.beat).
 */
export class LinkHeartbeat {
  readonly #members = new Set<HeartbeatMember>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  add(member: HeartbeatMember): void {
    this.#members.add(member);
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      for (const each of this.#members) each.beat();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  delete(member: HeartbeatMember): void {
    this.#members.delete(member);
    if (this.#members.size > 0) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get size(): number {
    return this.#members.size;
  }
}
