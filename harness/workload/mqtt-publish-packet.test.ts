import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { publishPacketQos0 } from './mqtt-publish-packet.ts';

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
