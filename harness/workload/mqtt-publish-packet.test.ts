import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { connectAsync } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import {
  isQos1Publish,
  publishPacket,
  publishPacketQos0,
  writePacketId,
} from './mqtt-publish-packet.ts';

/** A peer that accepts one MQTT connection and keeps every byte sent after CONNECT. */
async function recordingPeer() {
  let received = Buffer.alloc(0);
  let connection: Socket | undefined;
  const server = createServer((socket) => {
    connection = socket;
    socket.once('data', () => {
      socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK, accepted
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    close: () => {
      connection?.destroy();
      server.close();
    },
  };
}

describe('a QoS 0 PUBLISH packet built by the harness', () => {
  it('is byte for byte what MQTT.js writes, for every length of the remaining-length field', async () => {
    const peer = await recordingPeer();
    const client = await connectAsync(peer.url, { reconnectPeriod: 0, protocolVersion: 4 });
    try {
      const cases: [string, number][] = [
        ['t', 0],
        ['a/b', 122], // remaining length 127: one byte
        ['a/b', 123], // 128: two bytes
        ['données/ü', 16_000], // multi-byte topic, two bytes
        ['x', 20_000], // three bytes
        ['x', 2_100_000], // four bytes
      ];
      for (const [topic, size] of cases) {
        const payload = Buffer.alloc(size, size % 251);
        const before = peer.received().length;
        await client.publishAsync(topic, payload, { qos: 0 });
        const expected = publishPacketQos0(topic, payload);
        await expect.poll(() => peer.received().length).toBe(before + expected.length);
        expect(peer.received().subarray(before).equals(expected)).toBe(true);
      }
    } finally {
      await client.endAsync(true);
      peer.close();
    }
  });

  it('refuses a topic longer than the packet can say', () => {
    expect(() => publishPacketQos0('t'.repeat(70_000), Buffer.alloc(0))).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });
});

describe('a QoS 1 PUBLISH packet built by the harness', () => {
  it('is byte for byte what mqtt-packet encodes, once its packet id is written', () => {
    const cases: [string, number, number][] = [
      ['t', 0, 0x8000],
      ['a/b', 120, 0xffff], // remaining length 127: one byte
      ['données/ü', 16_000, 0x8001], // multi-byte topic, two bytes
      ['x', 2_100_000, 0x9abc], // four bytes
    ];
    for (const [topic, size, id] of cases) {
      const payload = Buffer.alloc(size, size % 251);
      const packet = publishPacket(topic, payload, 1);
      expect(isQos1Publish(packet)).toBe(true);
      writePacketId(packet, id);
      const expected = mqttPacket.generate({
        cmd: 'publish',
        topic,
        payload,
        qos: 1,
        messageId: id,
        retain: false,
        dup: false,
      });
      expect(packet.equals(expected), `${topic} ${size}`).toBe(true);
    }
    expect(isQos1Publish(publishPacket('t', Buffer.alloc(1), 0))).toBe(false);
  });
});
