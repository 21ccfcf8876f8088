import { describe, expect, it } from 'vitest';
import { type Ack, connectClient, nextEvent, startTestFederation } from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';

async function metricsOf(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/**
 * Brokers a and b, a publisher on a, and a QoS 1 subscriber of `plant/#` on b, once b's link to
 * a has that subscription.
 */
async function linkedPlantPair() {
  const federation = await startTestFederation({
    brokers: 2,
    broker: { declaredTopics: ['plant/#'] },
  });
  const [a, b] = federation.brokers() as [BrokerService, BrokerService];
  const publisher = await connectClient(a.mqttUrl);
  const subscriber = await connectClient(b.mqttUrl);
  const linked = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === a.id);
  await subscriber.subscribe('plant/#', 1);
  await linked;
  return {
    b,
    publisher,
    subscriber,
    async [Symbol.asyncDispose]() {
      await subscriber[Symbol.asyncDispose]();
      await publisher[Symbol.asyncDispose]();
      await federation[Symbol.asyncDispose]();
    },
  };
}

describe('forwarding across a peer link', () => {
  it('keeps QoS 1 and retain: a retained message forwarded is retained at the receiving broker', async () => {
    await using pair = await linkedPlantPair();
    const { b, publisher, subscriber } = pair;

    await publisher.publish('plant/valve', 'open', 1, true);
    const [live] = await subscriber.receivedCount(1);
    expect(live).toMatchObject({ topic: 'plant/valve', qos: 1 });
    expect(live!.payload.toString()).toBe('open');

    // A client that subscribes on B later gets the message from B's own retained store.
    await using late = await connectClient(b.mqttUrl);
    await late.subscribe('plant/valve', 1);
    const [retained] = await late.receivedCount(1);
    expect(retained).toMatchObject({ topic: 'plant/valve', qos: 1, retain: true });
    expect(retained!.payload.toString()).toBe('open');
  });

  it('delivers a retained publish and those right behind it to a live subscriber, in order', async () => {
    // The receiving broker stores a retained publish before it dispatches it; what followed it
    // on the link overtook it, and aedes then dropped it at the subscriber as a duplicate.
    await using pair = await linkedPlantPair();
    const { publisher, subscriber } = pair;

    const sent = ['r1', 'n1', 'r2', 'n2', 'n3'];
    await Promise.all(
      sent.map((name) => publisher.publish(`plant/${name}`, name, 1, name.startsWith('r'))),
    );
    const live = await subscriber.receivedCount(sent.length);
    expect(live.map((m) => m.payload.toString())).toEqual(sent);
  });

  it('refuses a payload over the peer’s limit with a counted error and forwards the next one', async () => {
    await using federation = await startTestFederation({
      brokers: ['big', 'small'],
      broker: { declaredTopics: ['blob/#'] },
    });
    const big = federation.broker('big');
    await federation.stopBroker('small');
    const small = await federation.startBroker('small', { maxPayloadBytes: 1024 });
    await using publisher = await connectClient(big.mqttUrl);
    await using subscriber = await connectClient(small.mqttUrl);
    const linked = nextEvent<Ack>(small.events, 'subscribe-ack', (e) => e.peer === 'big');
    await subscriber.subscribe('blob/#');
    await linked;

    await publisher.publish('blob/1', Buffer.alloc(2048, 1));
    await publisher.publish('blob/2', Buffer.alloc(1024, 2));
    const [only] = await subscriber.receivedCount(1);
    expect(only!.topic).toBe('blob/2');
    expect(only!.payload.length).toBe(1024);
    const text = await metricsOf(big.url);
    expect(
      metricValue(text, 'mqfed_broker_dropped_total{reason="payload_too_large",service="broker"}'),
    ).toBe(1);
    expect(metricValue(text, 'mqfed_broker_forwarded_total{service="broker"}')).toBe(1);
    // The link survived the refusal.
    expect(big.links().map((link) => link.state)).toEqual(['open']);
  });
});
