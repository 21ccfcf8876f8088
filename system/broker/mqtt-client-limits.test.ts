import { PassThrough } from 'node:stream';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Ack,
  connectClient,
  nextEvent,
  startTestFederation,
  type TestFederation,
} from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';
import { rawMqtt, refusals } from './mqtt-client.fixtures.ts';
import { type ClientLimits, PublishBucket, RetainedLedger } from './mqtt-client-limits.ts';
import { limitPacketSize } from './mqtt-packet-size.ts';

const limits: ClientLimits = {
  maxPacketBytes: 64 * 1024,
  maxRetainedPerClient: 2,
  maxRetainedBytesPerClient: 1024,
  maxRetained: 3,
  maxRetainedBytes: 64 * 1024,
  maxInflightPerClient: 3,
  publishRate: 20,
  maxSubscriptionsPerClient: 2,
};

/** Resolves when `client` (MQTT.js) loses its connection. */
function closedBy(client: mqtt.MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

describe('the limits of one MQTT client', () => {
  let federation: TestFederation;
  let broker: BrokerService;

  beforeAll(async () => {
    federation = await startTestFederation({ brokers: ['b1'], broker: limits });
    broker = federation.broker('b1');
  }, 60_000);
  afterAll(async () => {
    await federation?.[Symbol.asyncDispose]();
  });

  it('closes the connection of a packet over the size limit, and counts it', async () => {
    await using watcher = await connectClient(broker.mqttUrl, { clientId: 'size-watcher' });
    await watcher.subscribe('size/#');
    const before = await refusals(broker, 'packet_size');
    const client = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: 'size',
      reconnectPeriod: 0,
    });
    const closed = closedBy(client);
    await client.publishAsync('size/fits', Buffer.alloc(60 * 1024), { qos: 1 });
    client.publish('size/big', Buffer.alloc(100 * 1024), { qos: 0 });
    await closed;
    await client.endAsync(true);
    expect(await refusals(broker, 'packet_size')).toBe(before + 1);
    const [first] = await watcher.receivedCount(1);
    expect(first?.topic).toBe('size/fits');
    expect(watcher.received.map((m) => m.topic)).not.toContain('size/big');
  });

  it('closes a connection announcing a 64 MiB packet after its header, without reading the body', async () => {
    await using raw = await rawMqtt(broker.mqttUrl, 'huge');
    const before = await refusals(broker, 'packet_size');
    // PUBLISH, remaining length 64 MiB (varint 0x80 0x80 0x80 0x20), then the first bytes.
    raw.socket.write(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x20]));
    raw.socket.write(Buffer.alloc(4096));
    await raw.closed;
    expect(await refusals(broker, 'packet_size')).toBe(before + 1);
  });

  it('refuses a retained message over the per-client and the per-broker bound, and counts both', async () => {
    // A refused retain closes the connection; MQTT.js would wait for its PUBACK for ever.
    const retain = async (clientId: string, topic: string, payload: string) => {
      const client = await mqtt.connectAsync(broker.mqttUrl, { clientId, reconnectPeriod: 0 });
      const outcome = await Promise.race([
        client.publishAsync(topic, payload, { qos: 1, retain: true }).then(() => 'retained'),
        closedBy(client).then(() => 'refused'),
      ]);
      await client.endAsync(true);
      return outcome;
    };
    const client = await refusals(broker, 'retained_client');
    const total = await refusals(broker, 'retained_broker');
    expect(await retain('r1', 'r/1', 'one')).toBe('retained');
    expect(await retain('r1', 'r/2', 'two')).toBe('retained');
    expect(await retain('r1', 'r/1', 'one again')).toBe('retained'); // its own: replaced
    expect(await retain('r1', 'r/3', 'three')).toBe('refused');
    expect(await refusals(broker, 'retained_client')).toBe(client + 1);
    expect(await retain('r2', 'r/4', 'four')).toBe('retained');
    expect(await retain('r2', 'r/5', 'five')).toBe('refused');
    expect(await refusals(broker, 'retained_broker')).toBe(total + 1);
    // Clearing one makes room.
    expect(await retain('r1', 'r/1', '')).toBe('retained');
    expect(await retain('r2', 'r/5', 'five')).toBe('retained');

    await using reader = await connectClient(broker.mqttUrl, { clientId: 'r-reader' });
    await reader.subscribe('r/#');
    const stored = await reader.receivedCount(3);
    expect(stored.map((m) => `${m.topic}=${m.payload}`).sort()).toEqual([
      'r/2=two',
      'r/4=four',
      'r/5=five',
    ]);
  });

  it('counts the retained messages kept in the data directory after a restart', async () => {
    // r/2, r/4 and r/5 are retained (the test above): the broker's bound of 3 is reached.
    await federation.stopBroker('b1');
    broker = await federation.startBroker('b1');
    const before = await refusals(broker, 'retained_broker');
    const client = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'r3', reconnectPeriod: 0 });
    const closed = closedBy(client);
    client.publish('r/6', 'six', { qos: 1, retain: true });
    await closed;
    await client.endAsync(true);
    expect(await refusals(broker, 'retained_broker')).toBe(before + 1);
  });

  it('holds back publishes over the rate, delivering every one in order, and counts them', async () => {
    await using reader = await connectClient(broker.mqttUrl, { clientId: 'rate-reader' });
    await reader.subscribe('rate/t');
    await using writer = await connectClient(broker.mqttUrl, { clientId: 'rate-writer' });
    const before = await refusals(broker, 'rate');
    const started = performance.now();
    for (let i = 0; i < 60; i++) writer.mqtt.publish('rate/t', String(i), { qos: 0 });
    const got = await reader.receivedCount(60, 20_000);
    const elapsed = performance.now() - started;
    expect(got.map((m) => Number(m.payload.toString()))).toEqual([...Array(60).keys()]);
    // 20 came from the full bucket, the other 40 at 20 per second: two seconds at least.
    expect(elapsed).toBeGreaterThan(1_500);
    expect(await refusals(broker, 'rate')).toBeGreaterThanOrEqual(before + 39);
  });

  it('skips QoS 1 deliveries to a client holding as many unacknowledged ones as allowed, and counts them', async () => {
    await using slow = await rawMqtt(broker.mqttUrl, 'slow');
    slow.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'inf/#', qos: 1 }] });
    await slow.received('suback', 1);
    await using fast = await connectClient(broker.mqttUrl, { clientId: 'fast' });
    await fast.subscribe('inf/#', 1);
    await using writer = await connectClient(broker.mqttUrl, { clientId: 'inf-writer' });
    const before = await refusals(broker, 'inflight');

    for (let i = 0; i < 8; i++) await writer.publish(`inf/${i}`, 'x', 1);
    await fast.receivedCount(8);
    const held = await slow.received('publish', 3);
    expect(held.map((p) => (p as { topic: string }).topic)).toEqual(['inf/0', 'inf/1', 'inf/2']);
    expect(await refusals(broker, 'inflight')).toBe(before + 5);

    // One acknowledgement makes room for one more.
    slow.send({ cmd: 'puback', messageId: (held[0] as { messageId: number }).messageId });
    await writer.publish('inf/8', 'x', 1);
    await fast.receivedCount(9);
    const next = await slow.received('publish', 4);
    expect((next[3] as { topic: string }).topic).toBe('inf/8');
    expect(slow.packets.filter((p) => p.cmd === 'publish')).toHaveLength(4);
  });

  it('refuses subscriptions beyond the per-client number with SUBACK 0x80, and counts them', async () => {
    await using client = await rawMqtt(broker.mqttUrl, 'many-subs');
    const before = await refusals(broker, 'subscriptions');
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 's/1', qos: 0 },
        { topic: 's/2', qos: 0 },
        { topic: 's/3', qos: 0 },
      ],
    });
    const [suback] = await client.received('suback', 1);
    expect((suback as { granted: number[] }).granted).toEqual([0, 0, 128]);
    expect(await refusals(broker, 'subscriptions')).toBe(before + 1);
    // Resubscribing a held filter is no new one.
    client.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 's/1', qos: 1 }] });
    const [, again] = await client.received('suback', 2);
    expect((again as { granted: number[] }).granted).toEqual([1]);
  });
});

describe('the packet size check', () => {
  const publish = (bytes: number) =>
    mqttPacket.generate({
      cmd: 'publish',
      topic: 't',
      payload: Buffer.alloc(bytes),
      qos: 0,
      dup: false,
      retain: false,
    });

  it('follows packet boundaries across chunks of any size and stops at the first one too big', () => {
    const stream = new PassThrough();
    let tooLarge = 0;
    limitPacketSize(stream, 200, () => tooLarge++);
    const bytes = Buffer.concat([publish(10), publish(150), publish(0), publish(300)]);
    // Fed one byte at a time, the worst split there is.
    let read = 0;
    for (const byte of bytes) {
      stream.write(Buffer.from([byte]));
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) break;
      read += chunk.length;
    }
    expect(tooLarge).toBe(1);
    expect(stream.destroyed).toBe(true);
    // Everything before the big packet's length was complete got through.
    expect(read).toBe(publish(10).length + publish(150).length + publish(0).length + 2);
  });
});

describe('the retained ledger and the publish bucket', () => {
  it('bounds retained messages per owner and in all, and frees a cleared topic', () => {
    const ledger = new RetainedLedger({ ...limits, maxRetainedBytesPerClient: 10 });
    expect(ledger.check('a', 't/1', 5)).toBeUndefined();
    ledger.commit('a', 't/1', 5);
    expect(ledger.check('a', 't/2', 5)).toBe('retained_client'); // 3 + 5 topic and payload bytes
    expect(ledger.check('b', 't/1', 7)).toBeUndefined(); // takes the topic over
    ledger.commit('b', 't/1', 7);
    expect(ledger.check('a', 't/2', 5)).toBeUndefined();
    ledger.commit('a', 't/1', 0);
    expect(ledger.totals()).toEqual({ messages: 0, bytes: 0 });
  });

  it('gives a full burst, then one token per 1/rate seconds', () => {
    const bucket = new PublishBucket(10, 0);
    const waits = Array.from({ length: 12 }, () => bucket.take(0));
    expect(waits).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 200]);
    expect(bucket.take(1_000)).toBe(0);
  });
});

describe('retained messages from peers', () => {
  it('count against the broker-wide bound: past it they are delivered but not kept, and counted', async () => {
    await using federation = await startTestFederation({
      brokers: ['b1'],
      broker: { declaredTopics: ['p/#'] },
    });
    const b2 = await federation.startBroker('b2', { maxRetained: 2 });
    await using live = await connectClient(b2.mqttUrl, { clientId: 'live' });
    const linked = nextEvent<Ack>(b2.events, 'subscribe-ack', (e) => e.peer === 'b1');
    await live.subscribe('p/#', 1);
    await linked;
    const before = await refusals(b2, 'retained_broker');
    await using publisher = await connectClient(federation.broker('b1').mqttUrl);
    for (const topic of ['p/1', 'p/2', 'p/3', 'p/4'])
      await publisher.publish(topic, topic, 1, true);
    // Every one reached the subscriber that was there; only two were kept.
    expect((await live.receivedCount(4)).map((m) => m.topic)).toEqual(['p/1', 'p/2', 'p/3', 'p/4']);
    expect(await refusals(b2, 'retained_broker')).toBe(before + 2);
    await using later = await connectClient(b2.mqttUrl, { clientId: 'later' });
    await later.subscribe('p/#', 1);
    const kept = await later.receivedCount(2);
    expect(kept.map((m) => m.topic).sort()).toEqual(['p/1', 'p/2']);
  });
});
