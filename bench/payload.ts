/**
 * The bench message: 64 bytes, as the throughput target specifies, laid out as
 *   0  u8   kind (0 probe, 1 data)
 *   4  u32  run id: messages of an earlier run still in flight are told apart and ignored
 *   8  u32  sequence number within the run: loss, duplicates and reordering
 *  16  f64  scheduled send time, ms since the epoch with µs precision (see `nowMs`)
 *  24..63   zero padding
 */
export const PAYLOAD_BYTES = 64;

export type MessageKind = 'probe' | 'data';

export interface BenchMessage {
  kind: MessageKind;
  runId: number;
  seq: number;
  scheduledMs: number;
}

/**
 * The one clock of the bench: wall-clock ms, from the monotonic high-resolution timer. Publisher
 * and subscribers share a process, so sender and receiver read the very same clock.
 */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function encodeMessage(message: BenchMessage): Buffer {
  // A fresh buffer per message, as MQTT.js holds it until the socket takes it (next tick); from
  // Node's pool (allocUnsafe, then zeroed), as one ArrayBuffer per message costs the GC dearly.
  const bytes = Buffer.allocUnsafe(PAYLOAD_BYTES).fill(0);
  bytes.writeUInt8(message.kind === 'probe' ? 0 : 1, 0);
  bytes.writeUInt32LE(message.runId, 4);
  bytes.writeUInt32LE(message.seq, 8);
  bytes.writeDoubleLE(message.scheduledMs, 16);
  return bytes;
}

/** `undefined` for anything that is not a bench message. */
export function decodeMessage(bytes: Buffer): BenchMessage | undefined {
  if (bytes.length !== PAYLOAD_BYTES) return undefined;
  const kind = bytes.readUInt8(0);
  if (kind > 1) return undefined;
  return {
    kind: kind === 0 ? 'probe' : 'data',
    runId: bytes.readUInt32LE(4),
    seq: bytes.readUInt32LE(8),
    scheduledMs: bytes.readDoubleLE(16),
  };
}
