import { describe, expect, it } from 'vitest';
import { type Ack, connectClient, nextEvent, startTestFederation } from './broker.fixtures.ts';
import { relayTo } from './relay.fixtures.ts';

describe('peer routes', () => {
  it('a broker dials a peer at its route instead of the advertised URL, and data flows through it', async () => {
    await using federation = await startTestFederation({ brokers: ['a'] });
    const a = federation.broker('a');
    await using relay = await relayTo(new URL(a.linkUrl));
    const b = await federation.startBroker('b', { peerRoutes: { a: relay.url } });
    await using publisher = await connectClient(a.mqttUrl);
    await using subscriber = await connectClient(b.mqttUrl);
    const linked = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await subscriber.subscribe('routed/#');
    await publisher.publish('routed/t', 'announce');
    await linked;
    await publisher.publish('routed/t', 'through the relay');
    const got = await subscriber.receivedCount(1);
    expect(got.at(-1)?.payload.toString()).toBe('through the relay');
    expect(relay.connections()).toBe(1);
  });
});
