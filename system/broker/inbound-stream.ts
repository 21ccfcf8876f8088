import type { FederationStore } from './federation-store.ts';

/** One publish handed to the local broker and not finished yet. */
export interface InFlight {
  readonly seq: number;
  /** QoS 1: its acknowledgement must be on disk first (QoS 0 is never resent after a restart). */
  readonly qos1: boolean;
  done: boolean;
}

/** What to do with one PUBLISH from the peer. */
export type InboundVerdict =
  | { fresh: false }
  /** Deliver it, then call `done(delivery)`. `gap`: numbers skipped before it on this connection. */
  | { fresh: true; gap: number; delivery: InFlight };

/**
 * The receiving end of one peer's stream: which publishes are new, which are duplicates, and
 * how far delivery got, which is what PUBACK tells the peer. [design]
 * - State is keyed by the stream id the peer's HELLO names. A stream id is random and only the
 *   two ends of a link see it, so no other peer can touch this numbering; a peer that sends an
 *   absurd number wedges only its own stream, and the sender's answer to a PUBACK beyond what it
 *   numbered is a fresh stream (peer-outbox.ts), so a genuine origin is never dropped for good.
 * - One stream per origin is kept: a new id replaces the old state (bounded state per peer).
 * - A publish is new when its number is at or past the next expected one; older is a duplicate
 *   (a resend of something delivered). TCP keeps one connection in order and the sender resends
 *   in order, so "older" never means "overtaken".
 * - PUBACK acknowledges only deliveries the local broker has finished (aedes' callback: queued
 *   for offline sessions, handed to online clients), cumulatively. The position is saved in the
 *   store before it is sent, so with a data directory a restart does not deliver again what it
 *   acknowledged.
 * - The position is saved only when the acknowledged range holds a QoS 1 publish. A QoS 0 one
 *   is never kept in the sender's store, so after a restart nothing can resend it: a saved
 *   position older than the QoS 0 publishes after it costs nothing, as the first publish on a
 *   connection may skip numbers. Saving it anyway cost a SQLite commit per event-loop turn on
 *   QoS 0 traffic, a fifth of the receiving broker's CPU in profiles (docs/benchmarks.md).
 */
export class InboundStream {
  readonly #origin: string;
  readonly #store: FederationStore;
  #stream: string | undefined;
  /** The next number that counts as new; -1 until the first publish of an unknown stream. */
  #expected = -1;
  /** Everything below this is delivered and may be acknowledged. */
  #delivered = 0;
  /** Publishes of the current stream handed to the local broker, in order. */
  #inFlight: InFlight[] = [];
  #inFlightHead = 0;
  /** The first publish on a connection may skip numbers legitimately (dropped at the bound). */
  #resumed = true;
  /** A QoS 1 delivery finished since the position was last saved. */
  #unsaved = false;

  constructor(origin: string, store: FederationStore) {
    this.#origin = origin;
    this.#store = store;
  }

  /** The peer's HELLO named its stream: returns where it should resume (the first PUBACK). */
  begin(stream: string): number {
    this.#resumed = true;
    if (stream === this.#stream) return this.#delivered;
    const saved = this.#store.inboundPosition(this.#origin);
    this.#stream = stream;
    // A new array: deliveries of the old stream still finishing must not touch this one's.
    this.#inFlight = [];
    this.#inFlightHead = 0;
    if (saved?.stream === stream) {
      this.#delivered = saved.next;
      this.#expected = saved.next;
    } else {
      this.#delivered = 0;
      this.#expected = -1;
    }
    return this.#delivered;
  }

  /** Classifies one publish; a fresh one must be followed by `done(delivery)` once delivered. */
  accept(seq: number, qos: 0 | 1 = 1): InboundVerdict {
    if (this.#expected >= 0 && seq < this.#expected) return { fresh: false };
    const gap = this.#expected < 0 || this.#resumed ? 0 : seq - this.#expected;
    if (this.#expected < 0 || this.#resumed) {
      // Whatever was skipped before this one is not coming: it cannot hold acknowledgement back.
      if (this.#inFlightHead === this.#inFlight.length) this.#delivered = seq;
    }
    this.#resumed = false;
    this.#expected = seq + 1;
    const delivery: InFlight = { seq, qos1: qos === 1, done: false };
    this.#inFlight.push(delivery);
    return { fresh: true, gap, delivery };
  }

  /**
   * The local broker finished `delivery`. Returns the new acknowledgement point when it moved
   * (the caller saves and sends it), else undefined.
   */
  done(delivery: InFlight): number | undefined {
    delivery.done = true;
    const before = this.#delivered;
    while (this.#inFlightHead < this.#inFlight.length && this.#inFlight[this.#inFlightHead]!.done) {
      const finished = this.#inFlight[this.#inFlightHead]!;
      this.#delivered = finished.seq + 1;
      if (finished.qos1) this.#unsaved = true;
      this.#inFlightHead += 1;
    }
    if (this.#inFlightHead > 256 && this.#inFlightHead * 2 > this.#inFlight.length) {
      this.#inFlight.splice(0, this.#inFlightHead);
      this.#inFlightHead = 0;
    }
    return this.#delivered === before ? undefined : this.#delivered;
  }

  /** Whether the acknowledgement point passed a QoS 1 delivery it has not saved yet. */
  get unsaved(): boolean {
    return this.#unsaved;
  }

  /**
   * The acknowledgement point, saved in the store when it passed a QoS 1 delivery (call before
   * sending it).
   */
  save(): number {
    if (this.#stream !== undefined && this.#unsaved) {
      this.#unsaved = false;
      this.#store.saveInboundPosition(this.#origin, {
        stream: this.#stream,
        next: this.#delivered,
      });
    }
    return this.#delivered;
  }
}
