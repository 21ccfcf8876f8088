import { MqfedError } from '../../system/protocol/index.ts';

/** The most an MQTT remaining length can say (four bytes of seven bits). */
const MAX_REMAINING_LENGTH = 268_435_455;

/**
 * One MQTT 3.1.1 PUBLISH packet at QoS 0 (no retain, no dup): byte for byte what MQTT.js
 * writes for `publish(topic, payload, { qos: 0 })`, in one buffer.
 */
export function publishPacketQos0(topic: string, payload: Buffer): Buffer {
  return publishPacket(topic, payload, 0);
}

/**
 * One MQTT 3.1.1 PUBLISH packet at QoS 0 or 1 (no retain, no dup). At QoS 1 its packet
 * identifier is 0 until `writePacketId` sets it, just before it is sent.
 */
export function publishPacket(topic: string, payload: Buffer, qos: 0 | 1): Buffer {
  const topicBytes = Buffer.byteLength(topic, 'utf8');
  const remaining = 2 + topicBytes + (qos === 1 ? 2 : 0) + payload.length;
  if (topicBytes > 0xffff || remaining > MAX_REMAINING_LENGTH) {
    throw new MqfedError('PAYLOAD_TOO_LARGE', 'the topic or payload is too long for one packet');
  }
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const packet = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  packet[0] = qos === 1 ? 0x32 : 0x30;
  let offset = 1;
  let rest = remaining;
  do {
    const digit = rest % 0x80;
    rest = Math.floor(rest / 0x80);
    packet[offset++] = rest > 0 ? digit | 0x80 : digit;
  } while (rest > 0);
  packet.writeUInt16BE(topicBytes, offset);
  packet.write(topic, offset + 2, 'utf8');
  offset += 2 + topicBytes;
  if (qos === 1) offset = packet.writeUInt16BE(0, offset);
  payload.copy(packet, offset);
  return packet;
}

/** True for a packet of `publishPacket` at QoS 1. */
export function isQos1Publish(packet: Buffer): boolean {
  return packet[0] === 0x32;
}

/** Sets the packet identifier of a QoS 1 packet made by `publishPacket`. */
export function writePacketId(packet: Buffer, id: number): void {
  let offset = 1;
  while ((packet[offset]! & 0x80) !== 0) offset += 1;
  offset += 1;
  packet.writeUInt16BE(id, offset + 2 + packet.readUInt16BE(offset));
}
