import { once } from 'node:events';
import type { Socket } from 'node:net';
import { connectAsync } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { inProcessTopology } from '../topology/in-process.ts';
import { connectMqtt, withRetries } from './mqtt-connect.ts';
import { mqttSink } from './open-loop-publisher.ts';
import { PublishLedger } from './publish-ledger.ts';

/** Drops a client's connection under it, as a crashed broker or a pulled cable would. */
async function dropConnection(client: { stream: unknown }): Promise<void> {
  const socket = client.stream as Socket;
  const closed = once(socket, 'close');
  socket.destroy();
  await closed;
}

describe('a QoS 1 client of the testbed', () => {
  it('with a persistent session, gets on its return what was published while it was away', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    const url = topology.endpoint('a').mqttUrl;
    const subscriber = await connectMqtt(url, 'persistent-sub', 100, true);
    const publisher = await connectAsync(url, { reconnectPeriod: 0 });
    try {
      await subscriber.subscribeAsync('away/#', { qos: 1 });
      const received: string[] = [];
      subscriber.on('message', (_topic, payload) => received.push(payload.toString()));
      await dropConnection(subscriber);
      expect(subscriber.connected).toBe(false);
      // Acknowledged by the broker while the subscriber is gone: queued in its session.
      await publisher.publishAsync('away/t', 'while away', { qos: 1 });
      await new Promise((resolve) => subscriber.once('connect', resolve));
      await expect.poll(() => received).toEqual(['while away']);
    } finally {
      await publisher.endAsync(true);
      await subscriber.endAsync(true);
    }
  });

  it('as a publisher, hands a publish over while its connection is down, and MQTT.js sends it once back', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    const url = topology.endpoint('a').mqttUrl;
    const subscriber = await connectAsync(url, { reconnectPeriod: 0 });
    const client = await connectMqtt(url, 'resending-pub', 100);
    try {
      const received: string[] = [];
      subscriber.on('message', (_topic, payload) => received.push(payload.toString()));
      await subscriber.subscribeAsync('resend/#', { qos: 1 });
      const ledger = new PublishLedger(2, 1);
      const sink = mqttSink(client, { ledger });
      await dropConnection(client);
      sink.send(sink.prepare('resend/t', Buffer.from('sent while down'), 1), 0);
      sink.flush();
      // Handed over, not yet acknowledged: the broker has not seen it.
      expect(ledger.report()).toEqual({ handedOver: [0, 1], acknowledged: [] });
      await expect.poll(() => ledger.report().acknowledged).toEqual([0, 1]);
      await expect.poll(() => received).toEqual(['sent while down']);
    } finally {
      await client.endAsync(true);
      await subscriber.endAsync(true);
    }
  });

  it('reads its PUBACKs off the wire until closed, and a closed sink leaves nothing on the connection', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    // No reconnect: QoS 1 goes as prepared packets, acknowledged through a listener.
    const client = await connectAsync(topology.endpoint('a').mqttUrl, { reconnectPeriod: 0 });
    try {
      const before = client.listenerCount('packetreceive');
      for (let run = 0; run < 3; run += 1) {
        const ledger = new PublishLedger(2, 1);
        const sink = mqttSink(client, { ledger });
        for (const seq of [0, 1]) sink.send(sink.prepare('acked/t', Buffer.from('m'), 1), seq);
        sink.flush();
        await expect.poll(() => ledger.report().acknowledged).toEqual([0, 2]);
        sink.close?.();
      }
      // Each run's sink let go of its listener: a later run's PUBACKs pass through one only.
      expect(client.listenerCount('packetreceive')).toBe(before);
    } finally {
      await client.endAsync(true);
    }
  });

  it('at QoS 0, drops a publish due while its connection is down: not handed over', async () => {
    await using topology = await inProcessTopology().start({ brokers: ['a'] });
    const client = await connectMqtt(topology.endpoint('a').mqttUrl, 'dropping-pub', 100);
    try {
      const ledger = new PublishLedger(1, 0);
      const sink = mqttSink(client, { ledger });
      await dropConnection(client);
      sink.send(sink.prepare('drop/t', Buffer.from('lost'), 0), 0);
      sink.flush();
      expect(ledger.report()).toEqual({ handedOver: [], acknowledged: null });
    } finally {
      await client.endAsync(true);
    }
  });
});

describe('a crowd’s first connects', () => {
  it('retries a failed connect a few times, then gives up with the last error', async () => {
    let tries = 0;
    const flaky = async () => {
      tries += 1;
      if (tries < 3) throw new Error(`connack timeout ${tries}`);
      return 'connected';
    };
    expect(await withRetries(flaky, 3, 1)).toBe('connected');
    expect(tries).toBe(3);
    tries = 0;
    await expect(
      withRetries(
        async () => {
          tries += 1;
          throw new Error(`refused ${tries}`);
        },
        2,
        1,
      ),
    ).rejects.toThrow('refused 2');
    expect(tries).toBe(2);
  });
});
