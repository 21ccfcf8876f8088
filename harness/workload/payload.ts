/**
 * The harness message. The scheduled send time travels in the payload, so the subscriber measures
 * delay from the schedule (design §4) without asking the publisher. Layout, little-endian:
 *   0  u32  run id: a message of another variant or an earlier run is ignored
 *   4  u32  publisher index within the run: its broker and schedule
 *   8  u32  sequence number within that publisher: loss, duplicates, reordering
 *  12  u8   kind: 0 data, 1 probe (priming routes before the schedule starts; never counted)
 *  16  f64  scheduled send time, ms on the `nowMs` clock, µs precision
 *  24..     zero padding up to the scenario's payloadBytes
 */
export const PAYLOAD_HEADER_BYTES = 24;

export interface HarnessMessage {
  runId: number;
  publisher: number;
  seq: number;
  probe: boolean;
  scheduledMs: number;
}

/**
 * The run's clock travels with the payload (every message carries its scheduled time on it), so
 * it is offered here too; it lives in seams/run-clock.ts.
 */
export {
  adoptClockAnchorMs,
  CLOCK_DESCRIPTION,
  clockAnchorMs,
  nowMs,
  rawClockMs,
  setClockOffsetMs,
} from '../seams/run-clock.ts';

export function encodeMessage(message: HarnessMessage, payloadBytes: number): Buffer {
  // A fresh buffer per message: MQTT.js holds it until the socket takes it. allocUnsafe + fill
  // draws from Node's pool, which is far cheaper for the GC than one ArrayBuffer per message.
  const bytes = Buffer.allocUnsafe(Math.max(PAYLOAD_HEADER_BYTES, payloadBytes)).fill(0);
  bytes.writeUInt32LE(message.runId >>> 0, 0);
  bytes.writeUInt32LE(message.publisher, 4);
  bytes.writeUInt32LE(message.seq, 8);
  bytes.writeUInt8(message.probe ? 1 : 0, 12);
  bytes.writeDoubleLE(message.scheduledMs, 16);
  return bytes;
}

/** `undefined` for anything too short or of an unknown kind. */
export function decodeMessage(bytes: Buffer): HarnessMessage | undefined {
  if (bytes.length < PAYLOAD_HEADER_BYTES) return undefined;
  const kind = bytes.readUInt8(12);
  if (kind > 1) return undefined;
  return {
    runId: bytes.readUInt32LE(0),
    publisher: bytes.readUInt32LE(4),
    seq: bytes.readUInt32LE(8),
    probe: kind === 1,
    scheduledMs: bytes.readDoubleLE(16),
  };
}
