import { describe, expect, it } from 'vitest';
import { connectClient, startTestFederation } from './broker.fixtures.ts';
import { watchDiscovery } from './watch.fixtures.ts';

describe('a broker advertises the topics its clients publish', () => {
  it('sends topics published close together as one debounced delta, and declared filters up front', async () => {
    await using federation = await startTestFederation({
      brokers: ['a'],
      broker: { advertiseDebounceMs: 200, declaredTopics: ['config/#'] },
    });
    const a = federation.broker('a');
    expect(a.advertisedTopics()).toEqual(['config/#']);
    await using watch = await watchDiscovery(federation, '#');
    expect(watch.events[0]).toMatchObject({
      type: 'snapshot',
      brokers: [expect.objectContaining({ id: 'a', topics: ['config/#'] })],
    });

    await using publisher = await connectClient(a.mqttUrl);
    await publisher.publish('x/1', 'one');
    await publisher.publish('x/2', 'two');
    await publisher.publish('config/ignored', 'covered by the declared filter');
    const added = await watch.next((event) => event.type === 'topics-added');
    expect(added).toMatchObject({ type: 'topics-added', brokerId: 'a', topics: ['x/1', 'x/2'] });
    expect(watch.events.filter((event) => event.type === 'topics-added')).toHaveLength(1);
    expect(a.advertisedTopics()).toEqual(['config/#', 'x/1', 'x/2']);
  });

  it('deregisters on a clean shutdown, so watchers see it leave at once', async () => {
    // A watch sees only brokers with matching topics, so b declares one.
    await using federation = await startTestFederation({
      brokers: ['a', 'b'],
      broker: { declaredTopics: ['t/#'] },
    });
    await using watch = await watchDiscovery(federation, '#');
    await federation.stopBroker('b');
    expect(
      await watch.next((event) => event.type === 'left' && event.brokerId === 'b'),
    ).toMatchObject({ reason: 'deregistered' });
  });
});
