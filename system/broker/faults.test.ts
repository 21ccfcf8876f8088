import { describe, expect, it } from 'vitest';
import { createAuthClient } from '../auth/index.ts';
import {
  type Ack,
  connectClient,
  type LinkClosed,
  type LinkOpen,
  nextEvent,
  startTestFederation,
  type TestClient,
} from './broker.fixtures.ts';
import {
  eventually,
  metric,
  metricOf,
  payloads,
  receivedWhere,
  recordEvents,
  scrape,
} from './observe.fixtures.ts';
import { spawnBroker } from './process.fixtures.ts';
import { watchDiscovery } from './watch.fixtures.ts';

const numbered = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, index) => `${prefix}${index}`);

/** A client publishing `topic` every `intervalMs` until stopped, numbering its payloads. */
function publishStream(client: TestClient, topic: string, prefix: string, intervalMs = 10) {
  let sent = 0;
  const timer = setInterval(() => {
    // Fire and forget: the broker may die under it, and that is the point.
    client.mqtt.publish(topic, `${prefix}${sent}`, () => {});
    sent += 1;
  }, intervalMs);
  return {
    sent: () => sent,
    stop: () => clearInterval(timer),
  };
}

/** A publish on `broker` reaches a subscriber on the same broker. */
async function expectLocalDelivery(mqttUrl: string, topic: string) {
  await using publisher = await connectClient(mqttUrl);
  await using subscriber = await connectClient(mqttUrl);
  await subscriber.subscribe(topic);
  await publisher.publish(topic, 'still here');
  expect(payloads(await subscriber.receivedCount(1))).toEqual(['still here']);
}

describe('a broker killed mid-stream', () => {
  it('leaves the others serving, drops out of discovery when its lease expires, and links again when it restarts', async () => {
    await using federation = await startTestFederation({
      brokers: ['a', 'b'],
      // Short backoff, so the link to the restarted broker is found within the test's patience.
      broker: { reconnectMaxMs: 1_000 },
    });
    const a = federation.broker('a');
    const b = federation.broker('b');
    const admin = createAuthClient({ url: federation.auth.url });
    const { secret } = await admin.registerService(federation.auth.adminCredential, {
      id: 'k',
      role: 'broker',
      topics: { pub: ['#'], sub: ['#'] },
    });
    await using watch = await watchDiscovery(federation, '#');
    const processOptions = {
      id: 'k',
      authUrl: federation.auth.url,
      discoveryUrl: federation.discovery.url,
      args: ['--lease-ttl', '1s'],
    };
    await using first = await spawnBroker({ ...processOptions, secret });

    // A subscriber on A follows what k's publisher streams.
    await using subscriber = await connectClient(a.mqttUrl);
    await subscriber.subscribe('k/#');
    await using publisherOnK = await connectClient(first.mqttUrl);
    const linked = nextEvent<Ack>(a.events, 'subscribe-ack', (e) => e.peer === 'k', 10_000);
    await publisherOnK.publish('k/stream', 'announce');
    await linked;
    const stream = publishStream(publisherOnK, 'k/stream', 'first-');
    await receivedWhere(subscriber, (m) => m.payload.toString().startsWith('first-'), 10);

    const closed = nextEvent<LinkClosed>(a.events, 'link-closed', (e) => e.peer === 'k');
    const left = watch.next((e) => e.type === 'left' && e.brokerId === 'k', 5_000);
    const killedAt = performance.now();
    expect(await first.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    stream.stop();
    expect((await closed).code).toBe('PEER_UNREACHABLE');

    // The survivors serve their own clients, and each other, as before.
    await expectLocalDelivery(a.mqttUrl, 'local/a');
    await expectLocalDelivery(b.mqttUrl, 'local/b');
    await using onA = await connectClient(a.mqttUrl);
    await using onB = await connectClient(b.mqttUrl);
    const linkedBA = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await onB.subscribe('survivors/#');
    await onA.publish('survivors/a', 'announce');
    await linkedBA;
    await onA.publish('survivors/a', 'across');
    expect(payloads(await receivedWhere(onB, (m) => m.topic === 'survivors/a', 1))).toEqual([
      'across',
    ]);

    // No deregistration: discovery forgets k when its 1 s lease runs out, not before.
    expect(await left).toMatchObject({ reason: 'expired' });
    const leftAfterMs = performance.now() - killedAt;
    expect(leftAfterMs).toBeGreaterThan(300);
    expect(leftAfterMs).toBeLessThan(2_000);
    expect((await watch.client.lookup()).map((record) => record.id)).not.toContain('k');
    const linkToK = await eventually('A stops wanting k', () =>
      a.links().find((link) => link.peer === 'k' && link.wanted.length === 0),
    );
    expect(linkToK.peerFilters).toEqual([]);

    // k comes back under the same id with a new secret, on new ports.
    const { secret: rotated } = await admin.rotateSecret(federation.auth.adminCredential, 'k');
    const reopened = nextEvent<LinkOpen>(a.events, 'link-open', (e) => e.peer === 'k', 10_000);
    const relinked = nextEvent<Ack>(a.events, 'subscribe-ack', (e) => e.peer === 'k', 10_000);
    await using second = await spawnBroker({ ...processOptions, secret: rotated });
    expect(second.linkUrl).not.toBe(first.linkUrl);
    await using publisherOnSecond = await connectClient(second.mqttUrl);
    await publisherOnSecond.publish('k/stream', 'announce again');
    await reopened;
    expect((await relinked).granted).toEqual(['k/#']);

    for (const payload of numbered('second-', 20)) {
      await publisherOnSecond.publish('k/stream', payload);
    }
    expect(
      payloads(
        await receivedWhere(subscriber, (m) => m.payload.toString().startsWith('second-'), 20),
      ),
    ).toEqual(numbered('second-', 20));
    // The restarted k numbers from 0 again under a new epoch: nothing is mistaken for a repeat.
    const text = await scrape(a);
    expect(metric(text, 'mqfed_broker_duplicates_total')).toBe(0);
    expect(metric(text, 'mqfed_broker_gaps_total')).toBe(0);
  });
});

describe('the control plane can be down without stopping existing links', () => {
  it('keeps delivering over existing links while discovery is down', async () => {
    await using federation = await startTestFederation({
      brokers: ['a', 'b'],
      // Leases renewed every 100 ms: the outage is noticed many times over during the test.
      broker: { leaseTtlMs: 300 },
    });
    const a = federation.broker('a');
    const b = federation.broker('b');
    await using publisher = await connectClient(a.mqttUrl);
    await using subscriber = await connectClient(b.mqttUrl);
    const linked = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await subscriber.subscribe('d/#');
    await publisher.publish('d/announce', 'hello');
    await linked;
    const closesA = recordEvents<LinkClosed>(a.events, 'link-closed');
    const closesB = recordEvents<LinkClosed>(b.events, 'link-closed');

    await federation.discovery.close();
    // A new topic makes A send a delta to discovery, which fails: A has noticed the outage.
    await publisher.publish('d/new', 'first');
    await eventually('a failed advertisement', async () =>
      (await metricOf(a, 'mqfed_broker_advertisements_total', { outcome: 'failed' })) >= 1
        ? true
        : undefined,
    );

    // Messages keep flowing for three lease lifetimes, on a topic discovery never heard of.
    const started = performance.now();
    const sent: string[] = [];
    while (performance.now() - started < 900) {
      const payload = `during-${sent.length}`;
      await publisher.publish('d/new', payload);
      sent.push(payload);
      await receivedWhere(
        subscriber,
        (m) => m.payload.toString().startsWith('during-'),
        sent.length,
      );
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(
      payloads(subscriber.received.filter((m) => m.payload.toString().startsWith('during-'))),
    ).toEqual(sent);
    expect(closesA).toEqual([]);
    expect(closesB).toEqual([]);
    expect(a.links().map((link) => [link.peer, link.state])).toEqual([['b', 'open']]);
    expect(b.links().map((link) => [link.peer, link.state])).toEqual([['a', 'open']]);
  });

  it('keeps verifying tokens from cached keys while auth is down: old links deliver and a new one opens', async () => {
    await using federation = await startTestFederation({ brokers: ['a', 'b', 'c'] });
    const a = federation.broker('a');
    const b = federation.broker('b');
    const c = federation.broker('c');
    // Links b→a and c→b: every broker verifies a peer token, and so caches the issuer's keys.
    await using publisherA = await connectClient(a.mqttUrl);
    await using publisherB = await connectClient(b.mqttUrl);
    await using subscriberB = await connectClient(b.mqttUrl);
    await using subscriberC = await connectClient(c.mqttUrl);
    const linkedBA = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    const linkedCB = nextEvent<Ack>(c.events, 'subscribe-ack', (e) => e.peer === 'b');
    await subscriberB.subscribe('x/#');
    await subscriberC.subscribe('y/#');
    await publisherA.publish('x/announce', 'hello');
    await publisherB.publish('y/announce', 'hello');
    await Promise.all([linkedBA, linkedCB]);
    expect(c.links().map((link) => link.peer)).toEqual(['b']);

    await federation.auth.close();
    const jwks = await fetch(federation.auth.jwksUrl).then(
      () => 'answered',
      () => 'unreachable',
    );
    expect(jwks).toBe('unreachable');

    // The existing link delivers.
    for (const payload of numbered('old-link-', 5)) await publisherA.publish('x/t', payload);
    expect(payloads(await receivedWhere(subscriberB, (m) => m.topic === 'x/t', 5))).toEqual(
      numbered('old-link-', 5),
    );

    // A new link c→a: a verifies c's token in the upgrade, c verifies a's token on the link.
    const opened = nextEvent<LinkOpen>(c.events, 'link-open', (e) => e.peer === 'a');
    const linkedCA = nextEvent<Ack>(c.events, 'subscribe-ack', (e) => e.peer === 'a');
    await subscriberC.subscribe('x/#');
    expect(await opened).toMatchObject({ direction: 'outbound' });
    expect((await linkedCA).granted).toEqual(['x/#']);
    for (const payload of numbered('new-link-', 5)) await publisherA.publish('x/t', payload);
    expect(payloads(await receivedWhere(subscriberC, (m) => m.topic === 'x/t', 5))).toEqual(
      numbered('new-link-', 5),
    );
    for (const broker of [a, b, c]) {
      const text = await scrape(broker);
      expect(metric(text, 'mqfed_broker_denials_total'), `denials at ${broker.id}`).toBe(0);
      expect(
        metric(text, 'mqfed_broker_link_upgrades_refused_total'),
        `refusals at ${broker.id}`,
      ).toBe(0);
    }
  });
});
