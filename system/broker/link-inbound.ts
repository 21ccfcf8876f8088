import type { ErrorCode, PeerFrame, PublishFrame } from '../protocol/index.ts';
import type { BrokerMetrics } from './broker-metrics.ts';
import type { FederationStore } from './federation-store.ts';
import { InboundStream, type InFlight } from './inbound-stream.ts';
import { OrderedDelivery } from './ordered-delivery.ts';
import type { PeerConnection } from './peer-connection.ts';

export interface LinkInboundContext {
  readonly store: FederationStore;
  readonly metrics: BrokerMetrics;
  /** Hands a publish to the local broker; `done` once the broker is through with it. */
  deliver(frame: PublishFrame, done: () => void): void;
  /** The peer's token lets it offer this topic (its `pub` scope). */
  mayOffer(topic: string): boolean;
  deny(code: ErrorCode): void;
  /** Sends on the link's current connection, if it has one that said HELLO. */
  send(frame: PeerFrame): void;
}

/** A PUBACK for QoS 0 deliveries alone waits this long, gathering those that follow. */
export const QOS0_ACK_DELAY_MS = 1000;
/** ... or until this many deliveries wait for it (a sender of an earlier release holds them). */
export const QOS0_ACK_BATCH = 1024;

/**
 * The receiving half of a peer link: the peer's PUBLISH frames in, PUBACK frames out. [design]
 * Duplicates are dropped by `inbound-stream.ts`; what is new goes to the local broker in order
 * (`ordered-delivery.ts`); finished deliveries are acknowledged at most once per event-loop
 * turn, after the position is saved, so a burst costs one PUBACK and one store write.
 * [design] Delayed acknowledgement, as TCP does it: when the range to acknowledge holds QoS 0
 * publishes alone, the PUBACK waits QOS0_ACK_DELAY_MS (or QOS0_ACK_BATCH deliveries). Nobody
 * waits for it: the sender forgets a QoS 0 publish once written (peer-outbox.ts), so it only
 * keeps the sender's view of the stream current. At rates where each publish has an event-loop
 * turn of its own, a PUBACK per turn was a write here and a read and a parse at the sender for
 * every message, which a Mosquitto bridge at QoS 0 never pays; at 10 ms it was still a wake-up
 * of both brokers every 10 ms while publishes flowed, a cost per message at low rates.
 * A QoS 1 delivery, or a duplicate (whose first PUBACK may have been lost), is acknowledged in
 * the same turn, as before.
 */
export class LinkInbound {
  readonly #peerId: string;
  readonly #ctx: LinkInboundContext;
  readonly #stream: InboundStream;
  readonly #delivery: OrderedDelivery;
  #ackScheduled = false;
  #ackTimer: NodeJS.Timeout | undefined;
  /** Times the acknowledgement point moved since the last PUBACK (one or more deliveries each). */
  #unacknowledged = 0;

  constructor(peerId: string, ctx: LinkInboundContext) {
    this.#peerId = peerId;
    this.#ctx = ctx;
    this.#stream = new InboundStream(peerId, ctx.store);
    this.#delivery = new OrderedDelivery((frame, done) => ctx.deliver(frame, done));
  }

  /** The peer's HELLO named its stream: the PUBACK that answers it, saying where to resume. */
  begin(stream: string): PeerFrame {
    return { type: 'puback', next: this.#stream.begin(stream) };
  }

  receive(frame: PublishFrame, conn: PeerConnection): void {
    const { metrics } = this.#ctx;
    // One hop: whatever a peer sends us, it published itself.
    if (frame.origin !== this.#peerId) {
      this.#ctx.deny('IDENTITY_MISMATCH');
      conn.close('IDENTITY_MISMATCH');
      return;
    }
    const verdict = this.#stream.accept(frame.seq, frame.qos);
    if (!verdict.fresh) {
      metrics.hot.duplicates += 1;
      // A resend of something delivered: acknowledged again, the first PUBACK may have been lost.
      this.#scheduleAck();
      return;
    }
    metrics.hot.gaps += verdict.gap;
    const { delivery } = verdict;
    if (!this.#ctx.mayOffer(frame.topic)) {
      // Consumed without delivery, so it does not hold back the acknowledgement of later ones.
      this.#ctx.deny('SCOPE_DENIED');
      this.#delivered(delivery);
      return;
    }
    metrics.hot.delivered += 1;
    conn.deliveryStarted();
    this.#delivery.push(frame, () => {
      conn.deliveryDone();
      this.#delivered(delivery);
    });
  }

  /** Stops a delayed PUBACK (the service is closing; a reconnect resumes from the position). */
  close(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  #delivered(delivery: InFlight): void {
    if (this.#stream.done(delivery) === undefined) return;
    this.#unacknowledged += 1;
    if (this.#stream.unsaved || this.#unacknowledged >= QOS0_ACK_BATCH) this.#scheduleAck();
    else this.#ackTimer ??= setTimeout(() => this.#scheduleAck(), QOS0_ACK_DELAY_MS).unref();
  }

  #scheduleAck(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      clearTimeout(this.#ackTimer);
      this.#ackTimer = undefined;
      this.#unacknowledged = 0;
      const next = this.#stream.save();
      // Acknowledged once the position is on disk: a restart must not deliver it again.
      this.#ctx.store.afterCommit((error) => {
        if (error === undefined) this.#ctx.send({ type: 'puback', next });
      });
    });
  }
}
