import { describe, expect, it } from 'vitest';
import {
  type Ack,
  connectClient,
  nextEvent,
  startTestFederation,
  type TestClient,
  type TestFederation,
} from './broker.fixtures.ts';
import { metric, receivedWhere, scrape } from './observe.fixtures.ts';

const MESSAGES_PER_PUBLISHER = 100;

interface Site {
  id: string;
  publisher: TestClient;
  subscriber: TestClient;
}

/** One publisher and one `#` subscriber on every broker of the federation. */
async function populate(federation: TestFederation, stack: AsyncDisposableStack) {
  const sites: Site[] = [];
  for (const broker of federation.brokers()) {
    const publisher = stack.use(await connectClient(broker.mqttUrl));
    const subscriber = stack.use(await connectClient(broker.mqttUrl));
    sites.push({ id: broker.id, publisher, subscriber });
  }
  return sites;
}

/** Resolves once every broker holds a granted subscription on every other broker. */
function everyPairSubscribed(federation: TestFederation): Promise<Ack[]> {
  const brokers = federation.brokers();
  return Promise.all(
    brokers.flatMap((broker) =>
      brokers
        .filter((peer) => peer !== broker)
        .map((peer) =>
          nextEvent<Ack>(
            broker.events,
            'subscribe-ack',
            (e) => e.peer === peer.id && e.granted.includes('#'),
          ),
        ),
    ),
  );
}

/**
 * Every publisher sends its numbered messages, then every subscriber must hold each of them
 * exactly once, whichever broker it came from.
 */
async function expectExactlyOnceEverywhere(sites: readonly Site[]) {
  const expected = sites.flatMap((site) =>
    Array.from({ length: MESSAGES_PER_PUBLISHER }, (_, index) => `${site.id}:${index}`),
  );
  const isMeasured = (payload: string) => /^[^:]+:\d+$/.test(payload);
  await Promise.all(
    sites.map(async (site) => {
      for (let index = 0; index < MESSAGES_PER_PUBLISHER; index += 1) {
        await site.publisher.publish(`mesh/${site.id}/${index % 10}`, `${site.id}:${index}`);
      }
    }),
  );
  for (const site of sites) {
    await receivedWhere(site.subscriber, (m) => isMeasured(m.payload.toString()), expected.length);
  }
  // A last message from every publisher, after its numbered ones: a link keeps order, so once
  // the markers are in, any duplicate of a numbered message would have arrived too.
  await Promise.all(sites.map((site) => site.publisher.publish(`mesh/${site.id}/end`, 'end')));
  for (const site of sites) {
    await receivedWhere(site.subscriber, (m) => m.topic.endsWith('/end'), sites.length);
  }

  for (const site of sites) {
    const counts = new Map<string, number>();
    for (const message of site.subscriber.received) {
      const payload = message.payload.toString();
      if (isMeasured(payload)) counts.set(payload, (counts.get(payload) ?? 0) + 1);
    }
    expect([...counts.keys()].sort(), `payloads at ${site.id}`).toEqual([...expected].sort());
    expect(
      [...counts].filter(([, count]) => count !== 1),
      `payloads seen more than once at ${site.id}`,
    ).toEqual([]);
  }
}

async function expectNoDuplicatesOrGaps(federation: TestFederation) {
  for (const broker of federation.brokers()) {
    const text = await scrape(broker);
    expect(metric(text, 'mqfed_broker_duplicates_total'), `duplicates at ${broker.id}`).toBe(0);
    expect(metric(text, 'mqfed_broker_gaps_total'), `gaps at ${broker.id}`).toBe(0);
  }
}

/** One link per pair: every broker has exactly one open link to every other broker. */
function expectFullMesh(federation: TestFederation) {
  const brokers = federation.brokers();
  for (const broker of brokers) {
    expect(
      broker.links().map((link) => [link.peer, link.state, link.wanted, link.peerFilters]),
      `links of ${broker.id}`,
    ).toEqual(
      brokers.filter((peer) => peer !== broker).map((peer) => [peer.id, 'open', ['#'], ['#']]),
    );
  }
}

describe('every subscriber receives every message exactly once', () => {
  it('in a triangle of brokers that learn each other’s topics from a first publish', async () => {
    await using federation = await startTestFederation({ brokers: 3 });
    await using stack = new AsyncDisposableStack();
    const sites = await populate(federation, stack);
    const subscribed = everyPairSubscribed(federation);
    for (const site of sites) await site.subscriber.subscribe('#');
    // A warm-up publish makes each broker advertise its topic; the others then link and subscribe.
    await Promise.all(sites.map((site) => site.publisher.publish(`mesh/${site.id}/warm-up`, 'hi')));
    await subscribed;

    await expectExactlyOnceEverywhere(sites);
    await expectNoDuplicatesOrGaps(federation);
    expectFullMesh(federation);
  });

  it('in a full mesh of 5 brokers that declare their topics up front', async () => {
    await using federation = await startTestFederation({
      brokers: 5,
      broker: { declaredTopics: ['mesh/#'] },
    });
    await using stack = new AsyncDisposableStack();
    const sites = await populate(federation, stack);
    const subscribed = everyPairSubscribed(federation);
    // All at once: every pair of brokers dials each other at about the same moment.
    await Promise.all(sites.map((site) => site.subscriber.subscribe('#')));
    await subscribed;

    await expectExactlyOnceEverywhere(sites);
    await expectNoDuplicatesOrGaps(federation);
    expectFullMesh(federation);
    const others = (sites.length - 1) * (MESSAGES_PER_PUBLISHER + 1);
    for (const broker of federation.brokers()) {
      const text = await scrape(broker);
      expect(metric(text, 'mqfed_broker_forwarded_total'), `forwarded by ${broker.id}`).toBe(
        others,
      );
      expect(metric(text, 'mqfed_broker_delivered_total'), `delivered at ${broker.id}`).toBe(
        others,
      );
      expect(metric(text, 'mqfed_broker_links_opened_total'), `links of ${broker.id}`).toBe(
        metric(text, 'mqfed_broker_links', { state: 'open' }),
      );
    }
  });
});
