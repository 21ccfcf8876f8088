import type { Clock, Logger } from '../common/index.ts';
import { encodeFrame } from '../protocol/index.ts';
import type { BrokerMetrics } from './broker-metrics.ts';
import type { FederationStore, StoredPublish } from './federation-store.ts';
import type { PeerConnection } from './peer-connection.ts';

export interface PeerOutboxContext {
  readonly selfId: string;
  readonly store: FederationStore;
  /** Per peer: above this many bytes the oldest entries are dropped. */
  readonly maxBytes: number;
  /** Per peer: entries not acknowledged after this long are dropped. */
  readonly maxAgeMs: number;
  /** Above this many bytes unsent in the socket, writing pauses until it drains. */
  readonly highWaterBytes: number;
  readonly clock: Clock;
  readonly metrics: BrokerMetrics;
  readonly logger: Logger;
}

interface Entry {
  readonly seq: number;
  readonly qos: 0 | 1;
  readonly topic: string;
  /** The PUBLISH frame as it goes on the wire (DUP clear). */
  readonly bytes: Buffer;
  readonly at: number;
  sent: boolean;
}

/** Numbers are reserved in the store this many at a time (see FederationStore.reserve). */
const RESERVE_BLOCK = 4096;
/** How often the age bound is applied while entries wait. */
const AGE_CHECK_MS = 1_000;
/** While the socket is above the high water mark, it is looked at again this often. */
const DRAIN_POLL_MS = 2;
/** The DUP bit of a PUBLISH frame's flags byte (peer-codec.ts). */
const DUP_FLAG = 0b1000;

/** Whether the peer may receive a topic (its token's consume scope); checked as entries go out. */
export type ScopeCheck = (topic: string) => boolean;

/**
 * The outbound stream to one peer: every publish for it is numbered, queued and sent in order,
 * and kept until the peer acknowledges it (PUBACK). [design]
 * - It outlives connections: while the link is down or being set up, publishes wait here (this
 *   is what lets the first publish on a brand-new topic reach a peer whose link is not up yet).
 * - On each new connection it waits for the peer's first PUBACK, which says where to resume,
 *   then resends what the peer has not acknowledged (QoS 1 with DUP; a QoS 0 publish is never
 *   sent twice: at most once) and goes on with new publishes.
 * - A QoS 0 publish is forgotten once written (see #forgetWritten), so only QoS 1 entries, and
 *   what waits behind them or for a connection, are held until acknowledged.
 * - QoS 1 entries are written through to the store, so with a data directory they survive a
 *   crash of this broker; QoS 0 entries live in memory only.
 * - Bounded per peer in bytes and age: at the bound the oldest entries go, counted in
 *   `mqfed_broker_outbox_dropped_total` and logged. A QoS 1 publish that could never fit is
 *   refused before its publisher is acknowledged.
 */
export class PeerOutbox {
  readonly peerId: string;
  readonly #ctx: PeerOutboxContext;
  readonly #entries: Entry[] = [];
  /** Index of the first live entry in #entries (a queue without shifting). */
  #head = 0;
  /** Index of the next entry to write on the current connection. */
  #cursor = 0;
  #bytes = 0;
  #streamId: string;
  #nextSeq: number;
  #reservedUntil: number;
  #conn: PeerConnection | undefined;
  #mayReceive: ScopeCheck | undefined;
  #drainTimer: NodeJS.Timeout | undefined;
  #ageTimer: NodeJS.Timeout | undefined;
  /** Drops are logged once per episode, not once per message. */
  #dropping = false;

  constructor(peerId: string, ctx: PeerOutboxContext) {
    this.peerId = peerId;
    this.#ctx = ctx;
    const stream = ctx.store.outboundStream(peerId);
    this.#streamId = stream.id;
    this.#nextSeq = stream.nextSeq;
    this.#reservedUntil = stream.nextSeq;
    for (const kept of ctx.store.load(peerId)) this.#restore(kept);
    if (this.#entries.length > 0) {
      this.#nextSeq = Math.max(this.#nextSeq, this.#entries.at(-1)!.seq + 1);
      ctx.logger.info({ peer: peerId, messages: this.size }, 'outbox restored from the data dir');
      this.#scheduleAgeCheck();
    }
  }

  /** The id HELLO announces to the peer. */
  get streamId(): string {
    return this.#streamId;
  }

  /** Entries held: not yet written, or QoS 1 not yet acknowledged (and what follows those). */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Numbers and queues one publish; sends it at once if the link is streaming. False only for a
   * QoS 1 publish that alone exceeds the byte bound: the caller refuses it rather than
   * acknowledging what is already known to be lost.
   */
  enqueue(
    topic: string,
    payload: Uint8Array,
    qos: 0 | 1,
    retain: boolean,
    versionTime?: number,
  ): boolean {
    const seq = this.#nextSeq;
    const publish: StoredPublish = { seq, qos, retain, topic, payload, at: this.#ctx.clock.now() };
    if (retain) publish.versionTime = versionTime ?? 0;
    const bytes = this.#encode(publish);
    if (bytes.length > this.#ctx.maxBytes) {
      this.#drop(1, qos === 1 ? 'refused' : 'bytes');
      return qos === 0;
    }
    this.#nextSeq += 1;
    if (this.#nextSeq > this.#reservedUntil) {
      this.#reservedUntil = seq + RESERVE_BLOCK;
      this.#ctx.store.reserve(this.peerId, this.#reservedUntil);
    }
    if (qos === 1 && this.#ctx.store.durable) this.#ctx.store.append(this.peerId, publish);
    this.#entries.push({ seq, qos, topic, bytes, at: publish.at, sent: false });
    this.#bytes += bytes.length;
    while (this.#bytes > this.#ctx.maxBytes) this.#dropOldest('bytes');
    this.#scheduleAgeCheck();
    this.#pump();
    return true;
  }

  /** A new connection (or none): sending waits for `resume`. */
  attach(conn: PeerConnection | undefined): void {
    this.#conn = conn;
    this.#mayReceive = undefined;
    this.#cursor = this.#head;
    clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
  }

  /**
   * The peer's first PUBACK on this connection, once its token is verified: forget what it has,
   * and send the rest. A peer claiming more than was ever numbered means the numbering broke
   * (a data directory restored from an old copy, say): answered with a fresh stream, so a bad
   * number can never make the peer drop this broker's publishes for good. Returns false then:
   * the caller closes the connection (STREAM_RESET) and the next HELLO names the new stream.
   */
  resume(next: number, mayReceive: ScopeCheck): boolean {
    if (next > this.#nextSeq) {
      const stream = this.#ctx.store.newOutboundStream(this.peerId, this.#nextSeq);
      this.#streamId = stream.id;
      // The new stream has nothing reserved yet: the next publish reserves its block.
      this.#reservedUntil = this.#nextSeq;
      this.#ctx.logger.warn(
        { peer: this.peerId, acknowledged: next, numbered: this.#nextSeq },
        'peer acknowledged beyond the stream; starting a fresh stream',
      );
      return false;
    }
    this.acknowledge(next);
    this.#mayReceive = mayReceive;
    this.#cursor = this.#head;
    this.#pump();
    return true;
  }

  /** Everything numbered below `next` reached the peer. */
  acknowledge(next: number): void {
    const start = this.#head;
    let stored = false;
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.seq < next) {
      const entry = this.#entries[this.#head]!;
      this.#bytes -= entry.bytes.length;
      if (entry.qos === 1) stored = true;
      this.#head += 1;
    }
    if (this.#head === start) return;
    if (this.#cursor < this.#head) this.#cursor = this.#head;
    // Only QoS 1 publishes are in the store: acknowledging QoS 0 ones alone writes nothing.
    if (stored && this.#ctx.store.durable) this.#ctx.store.trim(this.peerId, next);
    // What was written behind the acknowledged QoS 1 entries may be forgotten now.
    this.#forgetWritten();
    this.#shrunk();
  }

  /** Stops the timers (service shutdown); the entries stay in the store. */
  close(): void {
    clearTimeout(this.#drainTimer);
    clearTimeout(this.#ageTimer);
  }

  /** An entry kept from before a restart; it may have gone out then, so it is resent with DUP. */
  #restore(kept: StoredPublish): void {
    const bytes = this.#encode(kept);
    this.#entries.push({
      seq: kept.seq,
      qos: kept.qos,
      topic: kept.topic,
      bytes,
      at: kept.at,
      sent: true,
    });
    this.#bytes += bytes.length;
  }

  /** The PUBLISH frame of a stored publish, as it first goes on the wire (DUP clear). */
  #encode(publish: StoredPublish): Buffer {
    return encodeFrame({
      type: 'publish',
      qos: publish.qos,
      retain: publish.retain,
      dup: false,
      origin: this.#ctx.selfId,
      seq: publish.seq,
      topic: publish.topic,
      payload: publish.payload,
      // A retained publish kept from before versions existed is the oldest version there is.
      ...(publish.retain ? { versionTime: publish.versionTime ?? 0 } : {}),
    });
  }

  /** Writes what it can, then forgets the QoS 0 entries written. */
  #pump(): void {
    this.#write();
    if (this.#forgetWritten()) this.#shrunk();
  }

  /** After the head moved: compacts the queue, and an empty one ends a dropping episode. */
  #shrunk(): void {
    this.#compact();
    if (this.size === 0) this.#dropping = false;
  }

  /**
   * Moves the head past the QoS 0 entries already written (or skipped by the scope check), up to
   * the first QoS 1 entry or the cursor; true if it moved. [design] A QoS 0 publish is never
   * sent twice, so keeping it until the peer's PUBACK only held its bytes, kept an idle link
   * open for nothing and made the peer's PUBACKs for QoS 0 worth sending promptly. The queue
   * shrinks at its head only, so one behind an unacknowledged QoS 1 entry waits for that one.
   */
  #forgetWritten(): boolean {
    const start = this.#head;
    while (this.#head < this.#cursor && this.#entries[this.#head]!.qos === 0) {
      this.#bytes -= this.#entries[this.#head]!.bytes.length;
      this.#head += 1;
    }
    return this.#head !== start;
  }

  /** Writes entries from the cursor while the socket takes them. */
  #write(): void {
    const conn = this.#conn;
    const mayReceive = this.#mayReceive;
    if (conn === undefined || mayReceive === undefined || this.#drainTimer !== undefined) return;
    const { metrics } = this.#ctx;
    while (this.#cursor < this.#entries.length) {
      if (conn.bufferedAmount > this.#ctx.highWaterBytes) {
        this.#drainTimer = setTimeout(() => {
          this.#drainTimer = undefined;
          this.#pump();
        }, DRAIN_POLL_MS);
        return;
      }
      const entry = this.#entries[this.#cursor]!;
      this.#cursor += 1;
      if (entry.sent && entry.qos === 0) continue;
      if (!mayReceive(entry.topic)) {
        metrics.denials.inc({ code: 'SCOPE_DENIED' });
        continue;
      }
      let bytes = entry.bytes;
      if (entry.sent) {
        // A resend: a copy with DUP set, since the first frame may still sit in a socket buffer.
        bytes = Buffer.from(bytes);
        bytes[1]! |= DUP_FLAG;
        metrics.hot.resent += 1;
      } else {
        metrics.hot.forwarded += 1;
      }
      entry.sent = true;
      if (!conn.sendEncoded(bytes)) return;
    }
  }

  #dropOldest(reason: 'bytes' | 'age'): void {
    const entry = this.#entries[this.#head]!;
    this.#bytes -= entry.bytes.length;
    this.#head += 1;
    if (this.#cursor < this.#head) this.#cursor = this.#head;
    if (entry.qos === 1 && this.#ctx.store.durable) {
      this.#ctx.store.trim(this.peerId, entry.seq + 1);
    }
    this.#drop(1, reason);
    this.#compact();
  }

  #drop(count: number, reason: 'bytes' | 'age' | 'refused'): void {
    this.#ctx.metrics.outboxDropped.inc({ reason }, count);
    if (this.#dropping) return;
    this.#dropping = true;
    this.#ctx.logger.warn(
      {
        peer: this.peerId,
        reason,
        maxBytes: this.#ctx.maxBytes,
        maxAgeMs: this.#ctx.maxAgeMs,
        waiting: this.size,
      },
      'outbox bound reached; publishes for this peer are being dropped',
    );
  }

  #compact(): void {
    if (this.#head === this.#entries.length) {
      // Empty: the common case once QoS 0 entries are forgotten as they go out.
      this.#entries.length = 0;
      this.#cursor = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#cursor -= this.#head;
      this.#head = 0;
    }
  }

  #scheduleAgeCheck(): void {
    if (this.#ageTimer !== undefined || this.size === 0) return;
    this.#ageTimer = setTimeout(
      () => {
        this.#ageTimer = undefined;
        const oldest = this.#ctx.clock.now() - this.#ctx.maxAgeMs;
        while (this.size > 0 && this.#entries[this.#head]!.at < oldest) this.#dropOldest('age');
        this.#scheduleAgeCheck();
      },
      Math.min(AGE_CHECK_MS, this.#ctx.maxAgeMs),
    );
    this.#ageTimer.unref();
  }
}
