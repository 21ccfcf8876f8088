import { describe, expect, it } from 'vitest';
import { createAuthClient } from '../auth/index.ts';
import {
  connectClient,
  type Received,
  startTestFederation,
  type TestClient,
  type TestFederation,
} from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';
import { mosquittoTool as tool } from './mosquitto-tools.fixtures.ts';
import { openRawPeer } from './raw-peer.fixtures.ts';
import { watchDiscovery } from './watch.fixtures.ts';

/**
 * Retained messages federation-wide, on real brokers, sockets and MQTT clients: a subscriber
 * gets what any broker retained, whenever it was retained, and every broker agrees on the winner.
 */

async function metricsOf(broker: BrokerService): Promise<string> {
  return (await fetch(`${broker.url}/metrics`)).text();
}

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const FETCHED_OK = 'mqfed_broker_retained_fetches_total{result="ok",service="broker"}';

/** Resolves once `broker` counted `count` more fetches of `series` than `before` (polled). */
async function fetchesReach(broker: BrokerService, series: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (metricValue(await metricsOf(broker), series) < count) {
    if (Date.now() > deadline) throw new Error(`${series} never reached ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves once discovery shows `broker` advertising `topic`, so peers know where it is. */
async function advertised(federation: TestFederation, broker: string, topic: string) {
  await using watch = await watchDiscovery(federation, '#');
  const has = (record: { id: string; topics: string[] }) =>
    record.id === broker && record.topics.includes(topic);
  await watch.next(
    (event) =>
      (event.type === 'snapshot' && event.brokers.some(has)) ||
      (event.type === 'joined' && has(event.broker)) ||
      (event.type === 'topics-added' && event.brokerId === broker && event.topics.includes(topic)),
    10_000,
  );
}

/**
 * What a new subscriber of `topic` on `broker` gets as retained: the payload, or undefined when
 * nothing is retained. [design] Absence is observed, not waited out: once the broker's fetch is
 * done (its metric), a live publish on the topic is sent; had a retained message come, it would
 * arrive before that marker.
 */
async function retainedAt(broker: BrokerService, topic: string): Promise<string | undefined> {
  const before = metricValue(await metricsOf(broker), FETCHED_OK);
  await using subscriber = await connectClient(broker.mqttUrl);
  await subscriber.subscribe(topic, 1);
  await fetchesReach(broker, FETCHED_OK, before + 1);
  await using marker = await connectClient(broker.mqttUrl);
  await marker.publish(topic, 'live marker', 1, false);
  const [first] = await subscriber.receivedCount(1);
  return first!.retain ? first!.payload.toString() : undefined;
}

function hostPort(broker: BrokerService): [string, string] {
  const url = new URL(broker.mqttUrl);
  return [url.hostname, url.port];
}

async function mosquittoPub(broker: BrokerService, args: string[]): Promise<void> {
  const [host, port] = hostPort(broker);
  await using pub = tool('mosquitto_pub', ['-h', host, '-p', port, '-q', '1', ...args]);
  await pub.exited;
  expect(pub.child.exitCode, pub.output()).toBe(0);
}

async function retainedPayload(client: TestClient): Promise<Received> {
  const [first] = await client.receivedCount(1);
  return first!;
}

describe('retained messages reach subscribers on every broker', () => {
  it('a retain on b1 before b2 had any link reaches a later subscriber on b2', async () => {
    await using federation = await startTestFederation({ brokers: 2 });
    const [b1, b2] = federation.brokers() as [BrokerService, BrokerService];
    await using publisher = await connectClient(b1.mqttUrl);
    await publisher.publish('plant/boiler/setpoint', '72', 1, true);
    await advertised(federation, 'b1', 'plant/boiler/setpoint');
    expect(b2.links()).toEqual([]);

    await using late = await connectClient(b2.mqttUrl);
    await late.subscribe('plant/+/setpoint', 1);
    const got = await retainedPayload(late);
    expect(got).toMatchObject({ topic: 'plant/boiler/setpoint', retain: true });
    expect(got.payload.toString()).toBe('72');
    // b2 stored the winner: it counts toward its retained bounds.
    expect(
      metricValue(await metricsOf(b2), 'mqfed_broker_retained_messages{service="broker"}'),
    ).toBe(1);
  });

  it('mosquitto_pub -r on b1, later mosquitto_sub on b2 gets it; mosquitto_pub -r -n deletes it everywhere', async () => {
    await using federation = await startTestFederation({ brokers: 3 });
    const [b1, b2, b3] = federation.brokers() as [BrokerService, BrokerService, BrokerService];
    await mosquittoPub(b1, ['-r', '-t', 'site/door', '-m', 'closed']);
    await advertised(federation, 'b1', 'site/door');

    const [host, port] = hostPort(b2);
    await using sub = tool('mosquitto_sub', [
      '-h',
      host,
      '-p',
      port,
      '-v',
      '-C',
      '1',
      '-t',
      'site/#',
    ]);
    await sub.waitFor((text) => text.includes('site/door closed'), 'retained message');

    // b3 fetches a copy too, then the delete happens on b1 while nobody listens on b3.
    expect(await retainedAt(b3, 'site/door')).toBe('closed');
    await mosquittoPub(b1, ['-r', '-n', '-t', 'site/door']);
    expect(await retainedAt(b1, 'site/door')).toBeUndefined();
    // b3 held an older copy; the fetched tombstone is newer and deletes it.
    expect(await retainedAt(b3, 'site/door')).toBeUndefined();
    expect(await retainedAt(b2, 'site/door')).toBeUndefined();
  });

  it('concurrent retains of one topic on two brokers leave the same winner at all three', async () => {
    await using federation = await startTestFederation({ brokers: 3 });
    const [b1, b2, b3] = federation.brokers() as [BrokerService, BrokerService, BrokerService];
    await using p1 = await connectClient(b1.mqttUrl);
    await using p2 = await connectClient(b2.mqttUrl);
    await Promise.all([
      p1.publish('grid/mode', 'from-b1', 1, true),
      p2.publish('grid/mode', 'from-b2', 1, true),
    ]);
    await advertised(federation, 'b1', 'grid/mode');
    await advertised(federation, 'b2', 'grid/mode');

    const seen = [
      await retainedAt(b3, 'grid/mode'),
      await retainedAt(b1, 'grid/mode'),
      await retainedAt(b2, 'grid/mode'),
    ];
    expect(['from-b1', 'from-b2']).toContain(seen[0]);
    expect(seen).toEqual([seen[0], seen[0], seen[0]]);
  });

  it('a newer retain wins over an older one fetched later, also after its broker restarted', async () => {
    await using federation = await startTestFederation({ brokers: 2 });
    const b2 = federation.broker('b2');
    {
      await using older = await connectClient(b2.mqttUrl);
      await older.publish('lab/state', 'old', 1, true);
    }
    {
      await using newer = await connectClient(federation.broker('b1').mqttUrl);
      // The next millisecond at least: versions compare by time first.
      await new Promise((resolve) => setTimeout(resolve, 5));
      await newer.publish('lab/state', 'new', 1, true);
    }
    // b1 restarts on its data directory: its message must keep its version to win at b2.
    await federation.stopBroker('b1');
    const b1 = await federation.startBroker('b1');
    await advertised(federation, 'b1', 'lab/state');
    expect(await retainedAt(b2, 'lab/state')).toBe('new');
    expect(await retainedAt(b1, 'lab/state')).toBe('new');
  });

  it('a crowd subscribing one filter costs one fetch per peer', async () => {
    await using federation = await startTestFederation({ brokers: 2 });
    const [b1, b2] = federation.brokers() as [BrokerService, BrokerService];
    await using publisher = await connectClient(b1.mqttUrl);
    await publisher.publish('crowd/topic', 'hello', 1, true);
    await advertised(federation, 'b1', 'crowd/topic');

    const before = metricValue(await metricsOf(b2), FETCHED_OK);
    const crowd = await Promise.all(Array.from({ length: 20 }, () => connectClient(b2.mqttUrl)));
    try {
      await Promise.all(crowd.map((client) => client.subscribe('crowd/#', 1)));
      for (const client of crowd) {
        expect((await retainedPayload(client)).payload.toString()).toBe('hello');
      }
      const fetched = metricValue(await metricsOf(b2), FETCHED_OK) - before;
      // Subscribes landing after a round finished start another; far fewer than 20 all the same.
      expect(fetched).toBeGreaterThanOrEqual(1);
      expect(fetched).toBeLessThan(5);
    } finally {
      await Promise.all(crowd.map((client) => client[Symbol.asyncDispose]()));
    }
  });
});

describe('a peer cannot roll retained messages back', () => {
  it('stores a peer’s retained publish only when newer and not future-dated, delivering it live either way', async () => {
    await using federation = await startTestFederation({ brokers: 1 });
    const b1 = federation.broker('b1');
    const auth = createAuthClient({ url: federation.auth.url });
    const credentials = await auth.registerService(federation.auth.adminCredential, {
      id: 'rogue',
      role: 'broker',
      topics: { pub: ['#'], sub: ['ops/#'] },
    });
    const { token } = await auth.issueToken(credentials, 'broker:b1');
    await using live = await connectClient(b1.mqttUrl);
    await live.subscribe('ops/#', 1);
    await using rogue = await openRawPeer(b1.linkUrl, 'rogue', token);
    const now = Date.now();
    const retained = (seq: number, payload: string, versionTime: number) =>
      rogue.send({
        type: 'publish',
        qos: 1,
        retain: true,
        dup: false,
        origin: 'rogue',
        seq,
        topic: 'ops/mode',
        payload: Buffer.from(payload),
        versionTime,
      });
    retained(0, 'current', now);
    retained(1, 'stale', now - 60_000);
    retained(2, 'from the future', now + 24 * 3_600_000);
    const got = await live.receivedCount(3);
    expect(got.map((message) => message.payload.toString())).toEqual([
      'current',
      'stale',
      'from the future',
    ]);
    // No other broker holds ops/mode: what b1 stored is what a new subscriber gets.
    await using late = await connectClient(b1.mqttUrl);
    await late.subscribe('ops/mode', 1);
    const [kept] = await late.receivedCount(1);
    expect(kept).toMatchObject({ retain: true });
    expect(kept!.payload.toString()).toBe('current');
    const text = await metricsOf(b1);
    expect(
      metricValue(text, 'mqfed_broker_retained_dropped_total{reason="older",service="broker"}'),
    ).toBe(1);
    expect(
      metricValue(text, 'mqfed_broker_retained_dropped_total{reason="future",service="broker"}'),
    ).toBe(1);

    // Its own retained fetch of b1 answers only what its token lets it consume.
    await using publisher = await connectClient(b1.mqttUrl);
    await publisher.publish('secret/key', 'hidden', 1, true);
    const response = await fetch(`${b1.url}/peer-api/retained`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ filters: ['#'] }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { messages: { topic: string }[] };
    expect(answer.messages.map((message) => message.topic)).toEqual(['ops/mode']);

    // Without a token addressed to b1, nothing.
    const anonymous = await fetch(`${b1.url}/peer-api/retained`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filters: ['#'] }),
    });
    expect(anonymous.status).toBe(401);
  });
});

describe('a broker advertises the topics of its retained messages while it holds them', () => {
  it('keeps a retained topic advertised past the idle expiry, and withdraws it once deleted', async () => {
    await using federation = await startTestFederation({
      brokers: 1,
      broker: { topicIdleMs: 300 },
    });
    const b1 = federation.broker('b1');
    await using watch = await watchDiscovery(federation, '#');
    await using publisher = await connectClient(b1.mqttUrl);
    await publisher.publish('meter/total', '1234', 1, true);
    await publisher.publish('meter/live', '5', 1, false);
    // b1 enters the watch's view with its first topics.
    await watch.next(
      (event) =>
        (event.type === 'joined' && event.broker.topics.includes('meter/live')) ||
        (event.type === 'topics-added' && event.topics.includes('meter/live')),
    );
    // The plain topic idles out; the retained one stays.
    await watch.next(
      (event) => event.type === 'topics-removed' && event.topics.includes('meter/live'),
    );
    expect(b1.advertisedTopics()).toEqual(['meter/total']);

    await publisher.publish('meter/total', '', 1, true);
    // Its last topic gone, b1 leaves the view of a watch on '#'.
    const removed = await watch.next(
      (event) =>
        (event.type === 'left' && event.brokerId === 'b1') ||
        (event.type === 'topics-removed' && event.topics.includes('meter/total')),
    );
    expect(removed).toMatchObject({ brokerId: 'b1' });
    expect(b1.advertisedTopics()).toEqual([]);
  });
});
