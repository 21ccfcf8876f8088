import { MqfedError } from '../../system/protocol/index.ts';

/** The most an MQTT remaining length can say (four bytes of seven bits). */
const MAX_REMAINING_LENGTH = 268_435_455;

/**
 * One MQTT 3.1.1 PUBLISH packet at QoS 0 (no retain, no dup): byte for byte what MQTT.js
 * writes for `publish(topic, payload, { qos: 0 })`, in one buffer.
 */
export function publishPacketQos0(topic: string, payload: Buffer): Buffer {
  const topicBytes = Buffer.byteLength(topic, 'utf8');
  const remaining = 2 + topicBytes + payload.length;
  if (topicBytes > 0xffff || remaining > MAX_REMAINING_LENGTH) {
    throw new MqfedError('PAYLOAD_TOO_LARGE', 'the topic or payload is too long for one packet');
  }
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const packet = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  packet[0] = 0x30;
  let offset = 1;
  let rest = remaining;
  do {
    const digit = rest % 0x80;
    rest = Math.floor(rest / 0x80);
    packet[offset++] = rest > 0 ? digit | 0x80 : digit;
  } while (rest > 0);
  packet.writeUInt16BE(topicBytes, offset);
  packet.write(topic, offset + 2, 'utf8');
  payload.copy(packet, offset + 2 + topicBytes);
  return packet;
}
