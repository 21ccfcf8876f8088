import { describe, expect, it } from 'vitest';
import { createTokenVerifier, type TokenVerifier } from '../auth/index.ts';
import { audienceFor, brokerTarget } from '../protocol/index.ts';
import {
  type Ack,
  connectClient,
  type LinkClosed,
  type LinkOpen,
  nextEvent,
  startTestFederation,
} from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';
import {
  metric,
  metricOf,
  payloads,
  receivedWhere,
  recordEvents,
  scrape,
} from './observe.fixtures.ts';

const GRACE_MS = 300;

/** Links that exist: a link the broker remembers but holds no connection for is `down`. */
function liveLinks(broker: BrokerService) {
  return broker.links().filter((link) => link.state !== 'down');
}

async function linkGauge(broker: BrokerService) {
  const text = await scrape(broker);
  return {
    connecting: metric(text, 'mqfed_broker_links', { state: 'connecting' }),
    open: metric(text, 'mqfed_broker_links', { state: 'open' }),
    idle: metric(text, 'mqfed_broker_links', { state: 'idle' }),
  };
}

describe('a peer link exists only while someone uses it', () => {
  it('opens no link while nobody is interested in what a peer has', async () => {
    await using federation = await startTestFederation({
      brokers: ['a', 'b'],
      broker: { declaredTopics: ['t/#'] },
    });
    const a = federation.broker('a');
    const b = federation.broker('b');
    await using publisher = await connectClient(a.mqttUrl);
    await using bystander = await connectClient(b.mqttUrl);
    // B knows A and what it has (its snapshot at start), and its client wants something else.
    await bystander.subscribe('other/#');
    await publisher.publish('t/1', 'nobody wants this');
    expect(await metricOf(b, 'mqfed_broker_subscriptions')).toBe(1);

    for (const broker of [a, b]) {
      expect(broker.links()).toMatchObject([]);
      expect(await linkGauge(broker)).toEqual({ connecting: 0, open: 0, idle: 0 });
      expect(await metricOf(broker, 'mqfed_broker_links_opened_total')).toBe(0);
    }
    expect(bystander.received).toEqual([]);
  });

  it('opens a link when a client subscribes to what a peer has, and closes it a grace period after the unsubscribe', async () => {
    await using federation = await startTestFederation({
      brokers: ['a', 'b'],
      broker: { declaredTopics: ['t/#'], linkIdleGraceMs: GRACE_MS },
    });
    const a = federation.broker('a');
    const b = federation.broker('b');
    await using subscriber = await connectClient(b.mqttUrl);
    const opened = nextEvent<LinkOpen>(b.events, 'link-open', (e) => e.peer === 'a');
    const acked = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await subscriber.subscribe('t/1');
    expect(await opened).toMatchObject({ direction: 'outbound' });
    expect((await acked).granted).toEqual(['t/1']);
    expect(b.links()).toMatchObject([
      { peer: 'a', state: 'open', wanted: ['t/1'], peerFilters: [] },
    ]);
    expect(a.links()).toMatchObject([
      { peer: 'b', state: 'open', wanted: [], peerFilters: ['t/1'] },
    ]);
    for (const broker of [a, b]) {
      expect(await linkGauge(broker)).toEqual({ connecting: 0, open: 1, idle: 0 });
    }

    const closedB = nextEvent<LinkClosed>(b.events, 'link-closed', (e) => e.peer === 'a');
    const closedA = nextEvent<LinkClosed>(a.events, 'link-closed', (e) => e.peer === 'b');
    const unsubscribedAt = performance.now();
    await subscriber.mqtt.unsubscribeAsync('t/1');
    // Unused but not yet closed: the grace period runs.
    expect(liveLinks(b)).toMatchObject([{ peer: 'a', state: 'idle', wanted: [], peerFilters: [] }]);
    expect(await linkGauge(b)).toEqual({ connecting: 0, open: 0, idle: 1 });

    expect((await closedB).code).toBe('LINK_IDLE');
    // Not before the grace period (Node timers may fire a millisecond early).
    expect(performance.now() - unsubscribedAt).toBeGreaterThanOrEqual(GRACE_MS - 2);
    expect((await closedA).code).toBe('LINK_IDLE');
    for (const broker of [a, b]) {
      expect(liveLinks(broker)).toEqual([]);
      expect(await linkGauge(broker)).toEqual({ connecting: 0, open: 0, idle: 0 });
      expect(await metricOf(broker, 'mqfed_broker_links_closed_total', { code: 'LINK_IDLE' })).toBe(
        1,
      );
    }
  });

  it('reuses the link when the client subscribes again within the grace period', async () => {
    await using federation = await startTestFederation({
      brokers: ['a', 'b'],
      broker: { declaredTopics: ['t/#'], linkIdleGraceMs: GRACE_MS },
    });
    const a = federation.broker('a');
    const b = federation.broker('b');
    const opens = recordEvents<LinkOpen>(b.events, 'link-open');
    const closes = recordEvents<LinkClosed>(b.events, 'link-closed');
    await using publisher = await connectClient(a.mqttUrl);
    await using subscriber = await connectClient(b.mqttUrl);
    const firstAck = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await subscriber.subscribe('t/#');
    await firstAck;

    const secondAck = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await subscriber.mqtt.unsubscribeAsync('t/#');
    expect(liveLinks(b).map((link) => link.state)).toEqual(['idle']);
    await subscriber.subscribe('t/#');
    expect((await secondAck).granted).toEqual(['t/#']);

    // Messages keep flowing for twice the grace period: the idle timer was called off.
    const started = performance.now();
    let sent = 0;
    while (performance.now() - started < 2 * GRACE_MS) {
      await publisher.publish('t/x', `m${sent}`);
      sent += 1;
      await receivedWhere(subscriber, () => true, sent);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(payloads(subscriber.received)).toEqual(Array.from({ length: sent }, (_, i) => `m${i}`));
    expect(opens).toHaveLength(1);
    expect(closes).toEqual([]);
    expect(liveLinks(b).map((link) => link.state)).toEqual(['open']);
    expect(await metricOf(b, 'mqfed_broker_links_opened_total')).toBe(1);
    expect(await metricOf(a, 'mqfed_broker_links_opened_total')).toBe(1);
  });
});

describe('at most one link per pair of brokers', () => {
  it('carries both directions over one link when both brokers want each other’s data', async () => {
    await using federation = await startTestFederation({ brokers: ['a', 'b'] });
    const a = federation.broker('a');
    const b = federation.broker('b');
    const opensA = recordEvents<LinkOpen>(a.events, 'link-open');
    const opensB = recordEvents<LinkOpen>(b.events, 'link-open');
    await using publisherA = await connectClient(a.mqttUrl);
    await using publisherB = await connectClient(b.mqttUrl);
    await using subscriberA = await connectClient(a.mqttUrl);
    await using subscriberB = await connectClient(b.mqttUrl);
    const ackedA = nextEvent<Ack>(a.events, 'subscribe-ack', (e) => e.peer === 'b');
    const ackedB = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await subscriberA.subscribe('from-b/#');
    await subscriberB.subscribe('from-a/#');
    // Each publisher's first publish makes its broker advertise; the other broker then wants it.
    await publisherA.publish('from-a/announce', 'hello');
    await publisherB.publish('from-b/announce', 'hello');
    await Promise.all([ackedA, ackedB]);

    await publisherA.publish('from-a/x', 'a1');
    await publisherB.publish('from-b/x', 'b1');
    expect(payloads(await receivedWhere(subscriberB, (m) => m.topic === 'from-a/x', 1))).toEqual([
      'a1',
    ]);
    expect(payloads(await receivedWhere(subscriberA, (m) => m.topic === 'from-b/x', 1))).toEqual([
      'b1',
    ]);

    expect(opensA).toHaveLength(1);
    expect(opensB).toHaveLength(1);
    // One connection, seen from both ends: whoever dialed it, the other accepted it.
    expect([opensA[0]!.direction, opensB[0]!.direction].sort()).toEqual(['inbound', 'outbound']);
    expect(a.links()).toMatchObject([
      { peer: 'b', state: 'open', wanted: ['from-b/#'], peerFilters: ['from-a/#'] },
    ]);
    expect(b.links()).toMatchObject([
      { peer: 'a', state: 'open', wanted: ['from-a/#'], peerFilters: ['from-b/#'] },
    ]);
    for (const broker of [a, b]) {
      const text = await scrape(broker);
      expect(metric(text, 'mqfed_broker_links_opened_total')).toBe(1);
      expect(metric(text, 'mqfed_broker_links_closed_total')).toBe(0);
      expect(metric(text, 'mqfed_broker_links', { state: 'open' })).toBe(1);
    }
  });

  it('ends with exactly one link, dialed by the smaller id, when both brokers dial each other at the same moment', async () => {
    await using federation = await startTestFederation({
      brokers: [],
      broker: { declaredTopics: ['t/#'] },
    });
    // Each broker holds the first upgrade it receives until the other one holds one too: both
    // dials are then in flight at the same moment, whatever the scheduling of this machine.
    const bothDialed = barrier(2);
    const gated = (id: string): TokenVerifier => {
      const inner = createTokenVerifier({
        jwksUrl: federation.auth.jwksUrl,
        issuer: federation.auth.issuer,
        audience: audienceFor(federation.auth.audience, brokerTarget(id)),
      });
      let first = true;
      return {
        async verify(token) {
          if (first) {
            first = false;
            await bothDialed.arrive();
          }
          return inner.verify(token);
        },
      };
    };
    const a = await federation.startBroker('a', { verifier: gated('a') });
    const b = await federation.startBroker('b', { verifier: gated('b') });
    const opensA = recordEvents<LinkOpen>(a.events, 'link-open');
    const opensB = recordEvents<LinkOpen>(b.events, 'link-open');
    const closesA = recordEvents<LinkClosed>(a.events, 'link-closed');
    const closesB = recordEvents<LinkClosed>(b.events, 'link-closed');
    await using subscriberA = await connectClient(a.mqttUrl);
    await using subscriberB = await connectClient(b.mqttUrl);
    await using publisherA = await connectClient(a.mqttUrl);
    await using publisherB = await connectClient(b.mqttUrl);
    const ackedA = nextEvent<Ack>(a.events, 'subscribe-ack', (e) => e.peer === 'b');
    const ackedB = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await Promise.all([subscriberA.subscribe('t/#'), subscriberB.subscribe('t/#')]);
    await Promise.all([ackedA, ackedB]);
    expect(bothDialed.arrived()).toBe(2);

    await publisherA.publish('t/a', 'from a');
    await publisherB.publish('t/b', 'from b');
    expect(payloads(await receivedWhere(subscriberB, (m) => m.topic === 't/a', 1))).toEqual([
      'from a',
    ]);
    expect(payloads(await receivedWhere(subscriberA, (m) => m.topic === 't/b', 1))).toEqual([
      'from b',
    ]);

    expect(opensA).toEqual([{ type: 'link-open', peer: 'b', direction: 'outbound' }]);
    expect(opensB).toEqual([{ type: 'link-open', peer: 'a', direction: 'inbound' }]);
    expect(closesA).toEqual([]);
    expect(closesB).toEqual([]);
    expect(a.links()).toMatchObject([
      { peer: 'b', state: 'open', wanted: ['t/#'], peerFilters: ['t/#'] },
    ]);
    expect(b.links()).toMatchObject([
      { peer: 'a', state: 'open', wanted: ['t/#'], peerFilters: ['t/#'] },
    ]);
    const textA = await scrape(a);
    const textB = await scrape(b);
    // A refused B's dial because its own was under way; B took A's in place of its own.
    expect(metric(textA, 'mqfed_broker_link_upgrades_refused_total', { code: 'LINK_EXISTS' })).toBe(
      1,
    );
    expect(metric(textA, 'mqfed_broker_links_opened_total', { direction: 'outbound' })).toBe(1);
    expect(metric(textA, 'mqfed_broker_links_opened_total', { direction: 'inbound' })).toBe(0);
    expect(metric(textB, 'mqfed_broker_links_opened_total', { direction: 'inbound' })).toBe(1);
    expect(metric(textB, 'mqfed_broker_links_opened_total', { direction: 'outbound' })).toBe(0);
    for (const text of [textA, textB]) {
      expect(metric(text, 'mqfed_broker_links', { state: 'open' })).toBe(1);
      expect(metric(text, 'mqfed_broker_links_closed_total')).toBe(0);
    }
  });
});

/** Holds each arriving caller until `parties` have arrived. */
function barrier(parties: number) {
  let count = 0;
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    arrived: () => count,
    async arrive(): Promise<void> {
      count += 1;
      if (count >= parties) release();
      await released;
    },
  };
}
