import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectClient,
  learnsInterest,
  startTestFederation,
  type TestClient,
  type TestFederation,
} from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';
import { connackOf, loopbackUrl, refusals, registerClient } from './mqtt-client.fixtures.ts';

/**
 * The last will of an MQTT client, published by the broker it was connected to, reaches
 * subscribers on the other brokers (docs/protocol.md, "Delivery guarantees", "Last will").
 */

const run = promisify(execFile);
const haveMosquitto = await run('mosquitto_sub', ['--help']).then(
  () => true,
  (error: { code?: unknown }) => error.code !== 'ENOENT',
);
if (!haveMosquitto && process.env.MQFED_REQUIRE_MOSQUITTO === '1') {
  throw new Error('mosquitto_sub is required here (MQFED_REQUIRE_MOSQUITTO=1) but missing');
}

/** `mqfed_broker_clients` on the broker's /metrics now. */
async function connectedClients(broker: BrokerService): Promise<number> {
  const text = await (await fetch(`${broker.url}/metrics`)).text();
  const line = text.split('\n').find((l) => /^mqfed_broker_clients[ {]/.test(l));
  return Number(line?.split(' ').at(-1));
}

/**
 * Resolves once `broker` counts `count` connected clients. A client's will, if it has one to
 * publish, is in the peers' outboxes before aedes unregisters the client (client.js, `close`).
 */
async function untilClients(broker: BrokerService, count: number, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while ((await connectedClients(broker)) !== count) {
    if (Date.now() > deadline) throw new Error(`${broker.id} never had ${count} clients`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const payloadsOf = (client: TestClient) => client.received.map((m) => m.payload.toString());

/**
 * A bare MQTT connection that sends CONNECT with a will and a keepalive of `keepalive` seconds,
 * reads the CONNACK and then stays silent: no PINGREQ, no DISCONNECT, the socket left open.
 */
async function silentClient(url: string, clientId: string, keepalive: number, will: object) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const connack = new Promise<number>((resolve) =>
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connack') resolve(packet.returnCode ?? -1);
    }),
  );
  socket.on('data', (chunk) => parser.parse(chunk));
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId,
      keepalive,
      will: will as never,
    }),
  );
  expect(await connack).toBe(0);
  return {
    closed,
    async [Symbol.asyncDispose]() {
      socket.destroy();
      await closed;
    },
  };
}

describe('a last will across the federation', () => {
  let federation: TestFederation;
  let a: BrokerService;
  let b: BrokerService;
  let c: BrokerService;
  /** Subscribed to `wills/#` at QoS 1, on b and on c, from the start. */
  let onB: TestClient;
  let onC: TestClient;
  /** Publishes `wills/marker` on a: what comes after it in a's outboxes. */
  let marker: TestClient;
  let markers = 0;

  beforeAll(async () => {
    federation = await startTestFederation({ brokers: ['a', 'b', 'c'] });
    [a, b, c] = [federation.broker('a'), federation.broker('b'), federation.broker('c')];
    onB = await connectClient(b.mqttUrl);
    onC = await connectClient(c.mqttUrl);
    const learned = [learnsInterest(a, 'b', 'wills/#'), learnsInterest(a, 'c', 'wills/#')];
    await onB.subscribe('wills/#', 1);
    await onC.subscribe('wills/#', 1);
    await Promise.all(learned);
    marker = await connectClient(a.mqttUrl, { clientId: 'marker' });
  }, 60_000);
  afterAll(async () => {
    await marker?.[Symbol.asyncDispose]();
    await onB?.[Symbol.asyncDispose]();
    await onC?.[Symbol.asyncDispose]();
    await federation?.[Symbol.asyncDispose]();
  });

  /**
   * Publishes a QoS 1 marker on a and waits until b and c received it: any will a published
   * before is in front of it (order per origin), so what b and c hold now is all they will get.
   */
  const settle = async () => {
    const payload = `marker-${++markers}`;
    await marker.publish('wills/marker', payload, 1);
    for (const subscriber of [onB, onC]) {
      while (!payloadsOf(subscriber).includes(payload)) {
        await subscriber.receivedCount(subscriber.received.length + 1, 10_000);
      }
    }
  };
  const willsSeen = (subscriber: TestClient, topic: string) =>
    subscriber.received.filter((m) => m.topic === topic);

  it.each([0, 1] as const)(
    'reaches subscribers on the other brokers at QoS %i when the client socket is destroyed',
    async (qos) => {
      const topic = `wills/destroyed-${qos}`;
      const client = await connectClient(a.mqttUrl, {
        clientId: `destroyed-${qos}`,
        will: { topic, payload: Buffer.from(`gone ${qos}`), qos, retain: false },
      });
      const before = [onB.received.length, onC.received.length];
      client.mqtt.stream.destroy();
      const [gotB] = (await onB.receivedCount(before[0]! + 1)).slice(before[0]);
      const [gotC] = (await onC.receivedCount(before[1]! + 1)).slice(before[1]);
      for (const got of [gotB, gotC]) {
        expect(got).toMatchObject({ topic, qos, retain: false });
        expect(got?.payload.toString()).toBe(`gone ${qos}`);
      }
      await client[Symbol.asyncDispose]();
      // Exactly once each.
      await settle();
      expect(willsSeen(onB, topic)).toHaveLength(1);
      expect(willsSeen(onC, topic)).toHaveLength(1);
    },
  );

  it('reaches subscribers on the other brokers when the keepalive of a silent client expires', async () => {
    const topic = 'wills/silent';
    const will = { topic, payload: Buffer.from('timed out'), qos: 1, retain: false };
    // A keepalive of 1 s: aedes closes the connection after 1.5 s without a packet.
    await using silent = await silentClient(loopbackUrl(a), 'silent', 1, will);
    const started = Date.now();
    const before = onB.received.length;
    const [got] = (await onB.receivedCount(before + 1, 15_000)).slice(before);
    expect(got).toMatchObject({ topic, qos: 1 });
    expect(got?.payload.toString()).toBe('timed out');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    // The broker closed the connection itself.
    await silent.closed;
    await settle();
    expect(willsSeen(onC, topic)).toHaveLength(1);
  });

  it('is published nowhere after a clean DISCONNECT', async () => {
    const topic = 'wills/clean';
    const baseline = await connectedClients(a);
    const client = await connectClient(a.mqttUrl, {
      clientId: 'clean',
      will: { topic, payload: Buffer.from('never'), qos: 1, retain: false },
    });
    const local = await connectClient(a.mqttUrl);
    await local.subscribe('wills/#', 1);
    await client.mqtt.endAsync();
    // The broker has let the client go; a will would be in the outboxes before this point.
    await untilClients(a, baseline + 1);
    await settle();
    await local.receivedCount(1);
    expect(willsSeen(onB, topic)).toEqual([]);
    expect(willsSeen(onC, topic)).toEqual([]);
    expect(willsSeen(local, topic)).toEqual([]);
    await local[Symbol.asyncDispose]();
  });

  it.skipIf(!haveMosquitto)(
    'with retain, is stored as retained on the other brokers: a later mosquitto_sub there gets it with the retain flag',
    async () => {
      const topic = 'wills/retained';
      const client = await connectClient(a.mqttUrl, {
        clientId: 'retainer',
        will: { topic, payload: Buffer.from('last words'), qos: 1, retain: true },
      });
      const before = onB.received.length;
      client.mqtt.stream.destroy();
      await onB.receivedCount(before + 1);
      await settle();
      await client[Symbol.asyncDispose]();
      // A subscriber that arrives afterwards on b, with the mosquitto client tool.
      const { stdout } = await run(
        'mosquitto_sub',
        [
          ...['-h', '127.0.0.1', '-p', new URL(b.mqttUrl).port],
          ...['-t', topic, '-C', '1', '-W', '20', '-F', '%r %t %p'],
        ],
        { timeout: 30_000 },
      );
      expect(stdout.trim()).toBe(`1 ${topic} last words`);
      // And an MQTT.js subscriber arriving on c.
      await using later = await connectClient(c.mqttUrl);
      await later.subscribe(topic, 1);
      const [got] = await later.receivedCount(1);
      expect(got).toMatchObject({ topic, retain: true });
      expect(got?.payload.toString()).toBe('last words');
    },
  );
});

describe('a last will and the client scopes', () => {
  let federation: TestFederation;
  /** Listens on 0.0.0.0: clients must authenticate. */
  let open: BrokerService;
  let other: BrokerService;

  beforeAll(async () => {
    federation = await startTestFederation({ brokers: ['other'] });
    other = federation.broker('other');
    open = await federation.startBroker('open', { host: '0.0.0.0' });
  }, 60_000);
  afterAll(async () => {
    await federation?.[Symbol.asyncDispose]();
  });

  it('is refused at CONNECT outside the pub scope and published nowhere, and crosses inside it', async () => {
    const device = await registerClient(federation, 'device', { pub: ['dev/#'], sub: [] });
    await using remote = await connectClient(other.mqttUrl);
    const learned = learnsInterest(open, 'other', '#');
    await remote.subscribe('#', 1);
    await learned;
    const url = loopbackUrl(open);
    const credentials = { clientId: 'device', username: 'device', password: device.secret };

    const refusedBefore = await refusals(open, 'will_scope');
    const outside = { topic: 'alarms/device', payload: Buffer.from('x'), qos: 1, retain: true };
    expect(await connackOf(url, { ...credentials, will: outside as never })).toBe(5);
    expect(await refusals(open, 'will_scope')).toBe(refusedBefore + 1);

    // The same client with a will inside its scope: its socket destroyed, the will crosses.
    const inside = { topic: 'dev/device/state', payload: Buffer.from('offline'), qos: 1 as const };
    await using client = await connectClient(url, {
      ...credentials,
      will: { ...inside, retain: false },
    });
    client.mqtt.stream.destroy();
    const [got] = await remote.receivedCount(1, 10_000);
    expect(got).toMatchObject({ topic: 'dev/device/state' });
    // The will of the refused CONNECT, had there been one, would have come first.
    expect(remote.received.map((m) => m.topic)).toEqual(['dev/device/state']);
  });
});
