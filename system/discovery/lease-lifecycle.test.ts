import { describe, expect, it } from 'vitest';
import { MqfedError } from '../protocol/index.ts';
import { manualClock, startFederation } from './discovery.fixtures.ts';
import { createDiscoveryClient } from './discovery-client.ts';
import type { WatchEvent } from './watch-frames.ts';
import { eventQueue } from './wire.fixtures.ts';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return error instanceof MqfedError ? error.code : String(error);
  }
  return undefined;
}

describe('a broker stays listed only while it holds a lease', () => {
  it('a lease that is not renewed expires, watchers learn it within 200 ms, lookup drops it', async ({
    annotate,
  }) => {
    await using federation = await startFederation();
    const token = await federation.tokenFor('b1', 'broker', { pub: ['a/#'] });
    const b1 = createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
    const events = eventQueue<WatchEvent>();
    await using _watch = await b1.watch('a/#', (event) => events.push(event));
    await events.next();

    const { leaseTtlMs, leaseExpiresAt } = await b1.register({
      id: 'b1',
      linkUrl: 'ws://b1/peer',
      ttlMs: 300,
      topics: ['a/1'],
    });
    expect(leaseTtlMs).toBe(300);
    expect((await events.next()).event).toMatchObject({ type: 'joined' });
    const left = await events.next();
    const lateBy = Date.now() - leaseExpiresAt;
    expect(left.event).toEqual({ type: 'left', id: 'w', brokerId: 'b1', reason: 'expired' });
    expect(lateBy).toBeGreaterThanOrEqual(0);
    expect(lateBy).toBeLessThan(200);
    await annotate(`${lateBy} ms after the lease ran out`, 'expiry latency');

    expect(await b1.lookup()).toEqual([]);
    expect(await codeOf(b1.renew('b1'))).toBe('LEASE_NOT_FOUND');
    // The broker's answer to LEASE_NOT_FOUND: register again.
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', topics: ['a/1'] });
    expect((await b1.lookup('a/1')).map((broker) => broker.id)).toEqual(['b1']);
  });

  it('renewing extends the lease by its lifetime; a late renewal is LEASE_NOT_FOUND', async () => {
    const clock = manualClock();
    await using federation = await startFederation({ clock });
    const token = await federation.tokenFor('b1', 'broker');
    const b1 = createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', ttlMs: 1_000 });
    for (let round = 0; round < 5; round += 1) {
      clock.advance(800);
      expect((await b1.renew('b1')).leaseExpiresAt).toBe(clock.now() + 1_000);
    }
    clock.advance(999);
    expect(await b1.lookup()).toHaveLength(1);
    clock.advance(1);
    expect(await b1.lookup()).toEqual([]);
    expect(await codeOf(b1.renew('b1'))).toBe('LEASE_NOT_FOUND');
  });

  it('a clean shutdown deregisters at once; deregistering again still succeeds', async () => {
    await using federation = await startFederation();
    const token = await federation.tokenFor('b1', 'broker');
    const b1 = createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer' });
    await b1.deregister('b1');
    expect(await b1.lookup()).toEqual([]);
    expect(await codeOf(b1.renew('b1'))).toBe('LEASE_NOT_FOUND');
    await b1.deregister('b1');
  });

  it('a requested lease longer than the maximum is cut to it; one below the minimum is refused', async () => {
    await using federation = await startFederation({ maxLeaseTtlMs: 60_000 });
    const token = await federation.tokenFor('b1', 'broker');
    const b1 = createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
    const lease = await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', ttlMs: 3_600_000 });
    expect(lease.leaseTtlMs).toBe(60_000);
    expect(await codeOf(b1.register({ id: 'b1', linkUrl: 'ws://b1', ttlMs: 99 }))).toBe(
      'INVALID_REQUEST',
    );
  });
});
