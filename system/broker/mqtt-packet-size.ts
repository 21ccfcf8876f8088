import type { Duplex } from 'node:stream';

/**
 * Closes `stream` as soon as the fixed header of an MQTT packet announces more than `maxBytes`
 * (header included), before any of its body is buffered. [design] mqtt-packet, aedes' parser,
 * has no size limit and gathers a whole packet before it parses it: a client announcing 64 MiB
 * would make the broker hold 64 MiB. This reads the same bytes aedes reads (it wraps the
 * stream's `read`, which aedes calls on `readable`) and only walks the headers: the body of each
 * packet is skipped by arithmetic, so the cost is a few operations per packet.
 */
export function limitPacketSize(stream: Duplex, maxBytes: number, onTooLarge: () => void): void {
  // 0: the next byte is a packet's type; 1..4: bytes of its remaining-length varint read so far.
  let headerBytes = 0;
  let remaining = 0;
  let multiplier = 1;
  // Bytes of the current packet's body still to come.
  let body = 0;

  const fits = (chunk: Buffer): boolean => {
    let i = 0;
    while (i < chunk.length) {
      if (body > 0) {
        const skip = Math.min(body, chunk.length - i);
        body -= skip;
        i += skip;
        continue;
      }
      const byte = chunk[i++] as number;
      if (headerBytes === 0) {
        headerBytes = 1;
        remaining = 0;
        multiplier = 1;
        continue;
      }
      headerBytes++;
      remaining += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      // A varint longer than four bytes is malformed; mqtt-packet would refuse it too.
      if (byte & 0x80) {
        if (headerBytes > 4) return false;
        continue;
      }
      if (headerBytes + remaining > maxBytes) return false;
      body = remaining;
      headerBytes = 0;
    }
    return true;
  };

  const read = stream.read;
  stream.read = function readWithinLimit(this: Duplex, size?: number) {
    const chunk: unknown = read.call(this, size);
    if (!Buffer.isBuffer(chunk) || fits(chunk)) return chunk;
    onTooLarge();
    stream.destroy();
    return null;
  };
}
