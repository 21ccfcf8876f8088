import { connectAsync, type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startMqttServer } from './mqtt-server.ts';

function nextMessage(client: MqttClient): Promise<[string, Buffer]> {
  return new Promise((resolve) =>
    client.once('message', (topic, payload) => resolve([topic, payload])),
  );
}

describe('the embedded MQTT server', () => {
  it('delivers a publish between two MQTT clients over TCP', async () => {
    const server = await startMqttServer({ id: 'a', host: '127.0.0.1', port: 0 });
    try {
      const subscriber = await connectAsync(server.mqttUrl);
      const publisher = await connectAsync(server.mqttUrl);
      await subscriber.subscribeAsync('a/#', { qos: 1 });
      const received = nextMessage(subscriber);
      await publisher.publishAsync('a/b', Buffer.from([0, 1, 255]), { qos: 1 });
      const [topic, payload] = await received;
      expect(topic).toBe('a/b');
      expect([...payload]).toEqual([0, 1, 255]);
      await Promise.all([subscriber.endAsync(), publisher.endAsync()]);
    } finally {
      await server.close();
    }
  });

  it('serves MQTT over WebSocket for browser clients', async () => {
    const server = await startMqttServer({ id: 'b', host: '127.0.0.1', port: 0, wsPort: 0 });
    try {
      expect(server.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/mqtt$/);
      const wsClient = await connectAsync(server.wsUrl!);
      const tcpClient = await connectAsync(server.mqttUrl);
      await wsClient.subscribeAsync('x');
      const received = nextMessage(wsClient);
      await tcpClient.publishAsync('x', 'hello');
      const [, payload] = await received;
      expect(payload.toString()).toBe('hello');
      await Promise.all([wsClient.endAsync(), tcpClient.endAsync()]);
    } finally {
      await server.close();
    }
  });
});
