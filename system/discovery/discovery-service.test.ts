import { describe, expect, it } from 'vitest';
import { type Federation, startFederation } from './discovery.fixtures.ts';
import { createDiscoveryClient } from './discovery-client.ts';
import type { WatchEvent } from './watch-frames.ts';
import { eventQueue } from './wire.fixtures.ts';

/** A discovery client for a service registered with the auth service under `id`. */
async function clientFor(
  federation: Federation,
  id: string,
  role: 'broker' | 'discovery',
  pub: string[] = [],
) {
  const token = await federation.tokenFor(id, role, { pub });
  return createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
}

/** Runs `action`, then waits for the next event; latency counts from when `action` returned. */
async function timed<T>(queue: ReturnType<typeof eventQueue<T>>, action: () => Promise<unknown>) {
  const started = performance.now();
  await action();
  const returned = performance.now();
  const { event, at } = await queue.next();
  return { event, afterReturn: at - returned, afterStart: at - started };
}

describe('broker services find each other through the discovery service', () => {
  it('registers, advertises, and answers lookups with wildcards on both sides and $ topics', async () => {
    await using federation = await startFederation();
    const b1 = await clientFor(federation, 'b1', 'broker', ['sensors/#', '$SYS/b1/#']);
    const lease = await b1.register({
      id: 'b1',
      linkUrl: 'ws://127.0.0.1:7001/peer',
      topics: ['sensors/t1'],
    });
    expect(lease.leaseTtlMs).toBe(15_000);
    expect(lease.leaseExpiresAt).toBeGreaterThan(Date.now() + 14_000);
    expect(await b1.advertise('b1', { add: ['sensors/+/humidity', '$SYS/b1/load'] })).toEqual({
      topics: ['$SYS/b1/load', 'sensors/+/humidity', 'sensors/t1'],
    });
    const b2 = await clientFor(federation, 'b2', 'broker', ['alerts/#']);
    await b2.register({ id: 'b2', linkUrl: 'wss://b2.example:8443/peer', topics: ['alerts/fire'] });

    const reader = await clientFor(federation, 'monitor', 'discovery');
    const found = async (filter?: string) =>
      (await reader.lookup(filter)).map((broker) => [broker.id, broker.topics]);
    expect(await found('sensors/t1')).toEqual([['b1', ['sensors/t1']]]);
    expect(await found('sensors/#')).toEqual([['b1', ['sensors/+/humidity', 'sensors/t1']]]);
    expect(await found('sensors/kitchen/humidity')).toEqual([['b1', ['sensors/+/humidity']]]);
    expect(await found('+/+/humidity')).toEqual([['b1', ['sensors/+/humidity']]]);
    expect(await found('#')).toEqual([
      ['b1', ['sensors/+/humidity', 'sensors/t1']],
      ['b2', ['alerts/fire']],
    ]);
    expect(await found('$SYS/#')).toEqual([['b1', ['$SYS/b1/load']]]);
    expect(await found('+/b1/load')).toEqual([]);
    expect(await found('weather/+')).toEqual([]);
    expect(await found()).toEqual([
      ['b1', ['$SYS/b1/load', 'sensors/+/humidity', 'sensors/t1']],
      ['b2', ['alerts/fire']],
    ]);
    const [record] = await reader.lookup('alerts/fire');
    expect(record).toEqual({
      id: 'b2',
      linkUrl: 'wss://b2.example:8443/peer',
      topics: ['alerts/fire'],
      interest: [],
      leaseExpiresAt: expect.any(Number),
    });
  });

  it('a watcher learns of a new matching broker, its topics and its leaving within 200 ms', async ({
    annotate,
  }) => {
    await using federation = await startFederation();
    const watcher = await clientFor(federation, 'monitor', 'discovery');
    const events = eventQueue<WatchEvent>();
    await using watch = await watcher.watch(['alerts/#'], (event) => events.push(event));
    expect(watch.snapshot).toEqual([]);
    expect((await events.next()).event).toEqual({ type: 'snapshot', id: 'w', brokers: [] });

    const b2 = await clientFor(federation, 'b2', 'broker', ['alerts/#', 'weather/#']);
    const joined = await timed(events, () =>
      b2.register({ id: 'b2', linkUrl: 'ws://b2/peer', topics: ['alerts/fire', 'weather/t'] }),
    );
    expect(joined.event).toMatchObject({
      type: 'joined',
      broker: { id: 'b2', linkUrl: 'ws://b2/peer', topics: ['alerts/fire'] },
    });

    // A change the watch cannot see sends nothing: the next event is the matching one.
    await b2.advertise('b2', { add: ['weather/rain'] });
    const added = await timed(events, () =>
      b2.advertise('b2', { add: ['alerts/flood', 'weather/wind'] }),
    );
    expect(added.event).toEqual({
      type: 'topics-added',
      id: 'w',
      brokerId: 'b2',
      topics: ['alerts/flood'],
    });
    const removed = await timed(events, () => b2.advertise('b2', { remove: ['alerts/fire'] }));
    expect(removed.event).toEqual({
      type: 'topics-removed',
      id: 'w',
      brokerId: 'b2',
      topics: ['alerts/fire'],
    });
    const left = await timed(events, () => b2.deregister('b2'));
    expect(left.event).toEqual({ type: 'left', id: 'w', brokerId: 'b2', reason: 'deregistered' });

    const latencies = { joined, added, removed, left };
    for (const [name, { afterReturn }] of Object.entries(latencies)) {
      expect(afterReturn, name).toBeLessThan(200);
    }
    await annotate(
      Object.entries(latencies)
        .map(([name, t]) => `${name} ${t.afterReturn.toFixed(1)} ms (${t.afterStart.toFixed(1)})`)
        .join(', '),
      'latency after call returned (after call started)',
    );
  });

  it('a watcher sees a re-registration with the new link URL, and other watchers are apart', async () => {
    await using federation = await startFederation();
    const watcher = await clientFor(federation, 'monitor', 'discovery');
    const alerts = eventQueue<WatchEvent>();
    const sensors = eventQueue<WatchEvent>();
    await using _alerts = await watcher.watch('alerts/#', (event) => alerts.push(event));
    await using _sensors = await watcher.watch(['sensors/#'], (event) => sensors.push(event));
    await alerts.next();
    await sensors.next();

    const b1 = await clientFor(federation, 'b1', 'broker', ['#']);
    await b1.register({ id: 'b1', linkUrl: 'ws://old/peer', topics: ['alerts/a'] });
    expect((await alerts.next()).event).toMatchObject({ broker: { linkUrl: 'ws://old/peer' } });
    await b1.register({ id: 'b1', linkUrl: 'ws://new/peer', topics: ['sensors/s'] });
    expect((await alerts.next()).event).toMatchObject({ type: 'left', reason: 'withdrawn' });
    expect((await sensors.next()).event).toMatchObject({
      type: 'joined',
      broker: { id: 'b1', linkUrl: 'ws://new/peer', topics: ['sensors/s'] },
    });
    expect(alerts.pending + sensors.pending).toBe(0);
  });

  it('a new watch starts from the brokers already there', async () => {
    await using federation = await startFederation();
    const b1 = await clientFor(federation, 'b1', 'broker', ['a/#']);
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', topics: ['a/1', 'a/2'] });
    const watcher = await clientFor(federation, 'b9', 'broker');
    await using watch = await watcher.watch(['a/2', 'x'], () => {});
    expect(watch.snapshot).toEqual([
      {
        id: 'b1',
        linkUrl: 'ws://b1/peer',
        topics: ['a/2'],
        interest: [],
        leaseExpiresAt: expect.any(Number),
      },
    ]);
  });
});
