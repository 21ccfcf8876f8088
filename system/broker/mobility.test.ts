import { describe, expect, it } from 'vitest';
import {
  type Ack,
  connectClient,
  type LinkClosed,
  nextEvent,
  startTestFederation,
} from './broker.fixtures.ts';
import { brokerServiceDefaults } from './broker-service-options.ts';
import { metricOf, payloads, receivedWhere } from './observe.fixtures.ts';

const numbered = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, index) => `${prefix}${index}`);

describe('clients that move between brokers', () => {
  it('a subscriber that moves from B to C keeps receiving', async () => {
    await using federation = await startTestFederation({ brokers: ['a', 'b', 'c'] });
    const [a, b, c] = [federation.broker('a'), federation.broker('b'), federation.broker('c')];
    await using publisher = await connectClient(a.mqttUrl);
    await using onB = await connectClient(b.mqttUrl, { clientId: 'mobile-1' });
    const linkedB = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await onB.subscribe('fleet/#');
    await publisher.publish('fleet/announce', 'A has fleet data');
    await linkedB;
    for (const payload of numbered('before-', 5)) await publisher.publish('fleet/t', payload);
    expect(payloads(await receivedWhere(onB, (m) => m.topic === 'fleet/t', 5))).toEqual(
      numbered('before-', 5),
    );

    // The client leaves B; B no longer needs A's data, so its link idles and closes.
    const idleB = nextEvent<LinkClosed>(b.events, 'link-closed', (e) => e.peer === 'a');
    await onB[Symbol.asyncDispose]();
    await using onC = await connectClient(c.mqttUrl, { clientId: 'mobile-1' });
    const linkedC = nextEvent<Ack>(c.events, 'subscribe-ack', (e) => e.peer === 'a');
    await onC.subscribe('fleet/#');
    expect((await linkedC).granted).toEqual(['fleet/#']);

    for (const payload of numbered('after-', 10)) await publisher.publish('fleet/t', payload);
    expect(payloads(await receivedWhere(onC, (m) => m.topic === 'fleet/t', 10))).toEqual(
      numbered('after-', 10),
    );
    expect((await idleB).code).toBe('LINK_IDLE');
    // C knows B too (B advertised the client's interest while it was there), but has no link.
    expect(c.links().filter((link) => link.state !== 'down')).toMatchObject([
      { peer: 'a', state: 'open', wanted: ['fleet/#'], peerFilters: [] },
    ]);
    expect(await metricOf(c, 'mqfed_broker_delivered_total')).toBe(10);
  });

  it('a publisher that moves from A to C is found again through discovery', async () => {
    await using federation = await startTestFederation({ brokers: ['a', 'b'] });
    const [a, b] = [federation.broker('a'), federation.broker('b')];
    // C already has other data, so the truck's topic reaches B as an addition to C's topics.
    const c = await federation.startBroker('c', { declaredTopics: ['weather/#'] });
    await using subscriber = await connectClient(b.mqttUrl);
    await subscriber.subscribe('fleet/#');
    await using onA = await connectClient(a.mqttUrl, { clientId: 'truck-7' });
    const linkedA = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await onA.publish('fleet/truck-7', 'announce from A');
    await linkedA;
    for (const payload of numbered('via-a-', 5)) await onA.publish('fleet/truck-7', payload);
    expect(
      payloads(
        await receivedWhere(subscriber, (m) => m.payload.toString().startsWith('via-a-'), 5),
      ),
    ).toEqual(numbered('via-a-', 5));
    await onA[Symbol.asyncDispose]();

    // Its first publish on C makes C advertise the topic; B learns it from its discovery watch.
    await using onC = await connectClient(c.mqttUrl, { clientId: 'truck-7' });
    const linkedC = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'c');
    await onC.publish('fleet/truck-7', 'announce from C');
    expect((await linkedC).granted).toEqual(['fleet/#']);
    for (const payload of numbered('via-c-', 10)) await onC.publish('fleet/truck-7', payload);
    expect(
      payloads(
        await receivedWhere(subscriber, (m) => m.payload.toString().startsWith('via-c-'), 10),
      ),
    ).toEqual(numbered('via-c-', 10));
    expect(c.advertisedTopics()).toEqual(['fleet/truck-7', 'weather/#']);
    expect(b.links().find((link) => link.peer === 'c')).toMatchObject({
      state: 'open',
      wanted: ['fleet/#'],
    });
  });

  it('a subscription made before any publisher exists starts receiving within 1 s of the first publish elsewhere', async () => {
    // The real debounce, not the fixtures' short one: the 1 s target is for the defaults.
    await using federation = await startTestFederation({
      brokers: ['a', 'b'],
      broker: { advertiseDebounceMs: brokerServiceDefaults.advertiseDebounceMs },
    });
    const a = federation.broker('a');
    const b = federation.broker('b');
    await using subscriber = await connectClient(b.mqttUrl);
    await subscriber.subscribe('news/#');
    expect(b.links()).toMatchObject([]);

    await using publisher = await connectClient(a.mqttUrl);
    const firstArrival = receivedWhere(subscriber, () => true, 1, 5_000);
    let arrived = false;
    void firstArrival.then(
      () => {
        arrived = true;
      },
      () => {},
    );
    const firstPublishAt = performance.now();
    let sent = 0;
    while (!arrived && performance.now() - firstPublishAt < 5_000) {
      await publisher.publish('news/early', `early-${sent}`);
      sent += 1;
      await Promise.race([firstArrival, new Promise((resolve) => setTimeout(resolve, 20))]);
    }
    const [first] = await firstArrival;
    const latencyMs = performance.now() - firstPublishAt;
    expect(latencyMs).toBeLessThan(1_000);
    expect(first!.payload.toString()).toMatch(/^early-\d+$/);

    for (const payload of numbered('exact-', 20)) await publisher.publish('news/exact', payload);
    const exact = await receivedWhere(subscriber, (m) => m.topic === 'news/exact', 20);
    expect(payloads(exact)).toEqual(numbered('exact-', 20));
    // Once it arrived, nothing was lost or repeated: the early ones form an unbroken tail.
    const early = payloads(subscriber.received.filter((m) => m.topic === 'news/early'));
    const from = Number(early[0]!.slice('early-'.length));
    expect(early).toEqual(numbered('early-', sent).slice(from));
  });
});
