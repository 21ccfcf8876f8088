import { encodeFrame, type PublishFrame } from '../protocol/index.ts';
import type { PeerConnection } from './peer-connection.ts';

export type OfferResult = 'sent' | 'backpressure' | 'down';

/**
 * Where a peer link puts the publishes it forwards: the seam for end-to-end QoS 1 (DESIGN §5).
 * [design] Today's outbox is direct: a publish goes on the wire at once or not at all, so across
 * brokers delivery is at most once, whatever the QoS. A later outbox keeps QoS 1 publishes until
 * the peer's PUBACK (frame type 0x02, reserved) and resends them after a reconnect; the receiver's
 * sequence tracker already drops the duplicates a resend makes.
 */
export interface PeerOutbox {
  /** Hands one publish to the outbox; says what became of it. */
  offer(frame: PublishFrame): OfferResult;
  /** The link got a new connection (or lost it: `undefined`). */
  attach(connection: PeerConnection | undefined): void;
}

/** Sends on the open connection; refuses, rather than queue without bound, above a high water. */
export function createDirectOutbox(highWaterBytes: number): PeerOutbox {
  let connection: PeerConnection | undefined;
  return {
    offer(frame) {
      if (connection === undefined || !connection.isOpen) return 'down';
      // [design] A slow peer must not grow this process's memory without bound: beyond the high
      // water mark publishes are dropped and counted, and the gap shows at the receiver.
      if (connection.bufferedAmount > highWaterBytes) return 'backpressure';
      return connection.sendEncoded(encodeFrame(frame)) ? 'sent' : 'down';
    },
    attach(next) {
      connection = next;
    },
  };
}
