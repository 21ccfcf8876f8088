import { describe, expect, it } from 'vitest';
import { createBrokerDirectory } from './broker-directory.ts';
import { manualClock } from './discovery.fixtures.ts';
import type { WatchEvent } from './watch-frames.ts';
import { createWatchHub, type WatchHub } from './watch-hub.ts';

/** A directory wired to a hub, as in the service, with a manual clock. */
function wired() {
  const clock = manualClock(1_000_000);
  let hub: WatchHub | undefined;
  const dir = createBrokerDirectory({
    clock,
    maxTopicsPerBroker: 100,
    onChange: (change) => hub?.publish(change),
  });
  hub = createWatchHub({ list: () => dir.list() });
  const watch = (filters: string[]) => {
    const events: WatchEvent[] = [];
    const selection = { filters, interestFilters: [] };
    const subscription = hub.subscribe('w', selection, (event) => events.push(event));
    return { events, subscription };
  };
  const register = (id: string, topics: string[], linkUrl = `ws://${id}`) =>
    dir.register({ id, linkUrl, ttlMs: 1_000, topics });
  return { clock, dir, hub, watch, register };
}

const summary = (events: WatchEvent[]) =>
  events.map((event) => {
    if (event.type === 'snapshot') return `snapshot ${event.brokers.map((b) => b.id).join(',')}`;
    if (event.type === 'joined') return `joined ${event.broker.id} ${event.broker.topics}`;
    if (event.type === 'left') return `left ${event.brokerId} ${event.reason}`;
    if (event.type === 'interest-added' || event.type === 'interest-removed') {
      return `${event.type} ${event.brokerId} ${event.interest}`;
    }
    return `${event.type} ${event.brokerId} ${event.topics}`;
  });

describe('the watch fan-out tells each watch what changed in its view', () => {
  it('starts with a snapshot of the matching brokers and only their matching topics', () => {
    const { watch, register } = wired();
    register('b1', ['sensors/t1', 'alerts/a']);
    register('b2', ['other']);
    const { subscription } = watch(['sensors/#']);
    expect(subscription.snapshot).toEqual({
      type: 'snapshot',
      id: 'w',
      brokers: [
        {
          id: 'b1',
          linkUrl: 'ws://b1',
          topics: ['sensors/t1'],
          interest: [],
          leaseExpiresAt: expect.any(Number),
        },
      ],
    });
  });

  it('follows a broker through joining, topic changes and leaving', () => {
    const { clock, dir, watch, register } = wired();
    const { events } = watch(['sensors/#']);
    register('b1', ['other']);
    dir.advertise('b1', { add: ['sensors/t1'] });
    dir.advertise('b1', { add: ['sensors/t2', 'more/other'] });
    dir.advertise('b1', { remove: ['sensors/t1', 'other'] });
    dir.advertise('b1', { add: ['sensors/t3'], remove: ['sensors/t2'] });
    clock.advance(1_000);
    dir.list();
    expect(summary(events)).toEqual([
      'joined b1 sensors/t1',
      'topics-added b1 sensors/t2',
      'topics-removed b1 sensors/t1',
      'topics-added b1 sensors/t3',
      'topics-removed b1 sensors/t2',
      'left b1 expired',
    ]);
  });

  it('tells of a broker whose last matching topic is withdrawn that it left the view', () => {
    const { dir, watch, register } = wired();
    register('b1', ['sensors/t1', 'other']);
    const { events } = watch(['sensors/#']);
    dir.advertise('b1', { remove: ['sensors/t1'] });
    dir.advertise('b1', { remove: ['other'] });
    dir.advertise('b1', { add: ['sensors/t9'] });
    expect(summary(events)).toEqual(['left b1 withdrawn', 'joined b1 sensors/t9']);
  });

  it('re-announces a re-registered broker with its new URL, or drops it when nothing matches', () => {
    const { dir, watch, register } = wired();
    register('b1', ['sensors/t1']);
    const { events } = watch(['sensors/#']);
    register('b1', ['sensors/t1'], 'ws://b1-restarted');
    register('b1', ['other']);
    register('b2', ['other']);
    dir.deregister('b2');
    expect(summary(events)).toEqual(['joined b1 sensors/t1', 'left b1 withdrawn']);
    expect(events[0]).toMatchObject({ broker: { linkUrl: 'ws://b1-restarted' } });
  });

  it('reports a deregistration with its reason, and stops after unsubscribing', () => {
    const { dir, watch, register, hub } = wired();
    register('b1', ['a']);
    const { events, subscription } = watch(['#']);
    dir.deregister('b1');
    subscription.unsubscribe();
    register('b2', ['a']);
    expect(summary(events)).toEqual(['left b1 deregistered']);
    expect(hub.size).toBe(0);
  });

  it('keeps delivering to other watches when one sink throws', () => {
    const { register, hub } = wired();
    const all = { filters: ['#'], interestFilters: [] };
    hub.subscribe('bad', all, () => {
      throw new Error('socket gone');
    });
    const good: WatchEvent[] = [];
    hub.subscribe('good', all, (event) => good.push(event));
    register('b1', ['a']);
    expect(summary(good)).toEqual(['joined b1 a']);
  });
});
