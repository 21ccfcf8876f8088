import { describe, expect, it } from 'vitest';
import type { LimitError, MqfedError, TopicScopes } from '../protocol/index.ts';
import { type Federation, startFederation } from './discovery.fixtures.ts';
import { createDiscoveryClient } from './discovery-client.ts';
import type { WatchEvent } from './watch-frames.ts';
import { eventQueue } from './wire.fixtures.ts';

/** A discovery client for a service registered with the auth service under `id`. */
async function clientFor(
  federation: Federation,
  id: string,
  role: 'broker' | 'discovery',
  scopes: Partial<TopicScopes> = {},
) {
  const token = await federation.tokenFor(id, role, scopes);
  return createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: MqfedError) => error.code,
  );

describe('brokers advertise their interest, and watches can follow it', () => {
  it('a broker registers with interest, changes it by deltas, and a registration replaces it', async () => {
    await using federation = await startFederation();
    const b1 = await clientFor(federation, 'b1', 'broker', { pub: ['a/#'], sub: ['#'] });
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', topics: ['a/1'], interest: ['x/+'] });
    const reader = await clientFor(federation, 'monitor', 'discovery');
    expect(await reader.lookup()).toMatchObject([{ id: 'b1', topics: ['a/1'], interest: ['x/+'] }]);

    expect(await b1.advertiseInterest('b1', { add: ['y/#', 'x/+'] })).toEqual({
      interest: ['x/+', 'y/#'],
    });
    expect(await b1.advertiseInterest('b1', { remove: ['x/+', 'never/wanted'] })).toEqual({
      interest: ['y/#'],
    });
    expect(await codeOf(b1.advertiseInterest('b1', { add: ['z'], remove: ['z'] }))).toBe(
      'INVALID_REQUEST',
    );
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', topics: ['a/1'] });
    expect(await reader.lookup()).toMatchObject([{ id: 'b1', interest: [] }]);
    await b1.deregister('b1');
    expect(await codeOf(b1.advertiseInterest('b1', { add: ['x'] }))).toBe('LEASE_NOT_FOUND');

    const metrics = await (await fetch(`${federation.discovery.url}/metrics`)).text();
    expect(metrics).toContain(
      'mqfed_discovery_interest_advertisements_total{service="discovery"} 2',
    );
    expect(metrics).toContain('mqfed_discovery_advertisements_total{service="discovery"} 0');
  });

  it('caps a broker’s interest at maxInterestPerBroker, apart from its topics', async () => {
    await using federation = await startFederation({
      maxTopicsPerBroker: 1,
      maxInterestPerBroker: 2,
    });
    const b1 = await clientFor(federation, 'b1', 'broker', { pub: ['#'], sub: ['#'] });
    const register = (interest: string[]) =>
      b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', topics: ['t'], interest });
    expect(await codeOf(register(['a', 'b', 'c']))).toBe('TOPIC_LIMIT_EXCEEDED');
    await register(['a', 'b']);
    expect(await codeOf(b1.advertiseInterest('b1', { add: ['c'] }))).toBe('TOPIC_LIMIT_EXCEEDED');
    expect(await b1.advertiseInterest('b1', { add: ['c'], remove: ['a'] })).toEqual({
      interest: ['b', 'c'],
    });
  });

  it('names the cap a refusal hit and its value, so a broker can fit under it', async () => {
    await using federation = await startFederation({
      maxTopicsPerBroker: 1,
      maxInterestPerBroker: 2,
    });
    const token = await federation.tokenFor('b1', 'broker', { pub: ['#'], sub: ['#'] });
    const b1 = createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: LimitError) => ({ code: error.code, limit: error.limit }),
      );
    const register = (topics: string[], interest: string[]) =>
      refusal(b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', topics, interest }));
    expect(await register(['t', 'u'], [])).toEqual({
      code: 'TOPIC_LIMIT_EXCEEDED',
      limit: { name: 'topics', max: 1 },
    });
    expect(await register(['t'], ['a', 'b', 'c'])).toEqual({
      code: 'TOPIC_LIMIT_EXCEEDED',
      limit: { name: 'interest', max: 2 },
    });
    await register(['t'], []);
    expect(await refusal(b1.advertise('b1', { add: ['u'] }))).toEqual({
      code: 'TOPIC_LIMIT_EXCEEDED',
      limit: { name: 'topics', max: 1 },
    });
    // On the wire, beside the code and the message.
    const answer = await fetch(`${federation.discovery.url}/brokers/b1/interest`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ add: ['a', 'b', 'c'] }),
    });
    expect(answer.status).toBe(409);
    expect(await answer.json()).toEqual({
      code: 'TOPIC_LIMIT_EXCEEDED',
      message: expect.stringContaining('limit of 2'),
      limit: { name: 'interest', max: 2 },
    });
  });

  it('a watch of interest only sees the brokers whose interest meets it, and follows it', async () => {
    await using federation = await startFederation();
    const watcher = await clientFor(federation, 'publisher', 'broker');
    const events = eventQueue<WatchEvent>();
    await using watch = await watcher.watch([], (event) => events.push(event), {
      interestFilters: ['sensors/#'],
    });
    expect(watch.snapshot).toEqual([]);
    expect((await events.next()).event).toEqual({ type: 'snapshot', id: 'w', brokers: [] });

    // Topics on the watched filters do not count: the watch has no topic filters.
    const b1 = await clientFor(federation, 'b1', 'broker', { pub: ['#'], sub: ['#'] });
    await b1.register({
      id: 'b1',
      linkUrl: 'ws://b1/peer',
      topics: ['sensors/t'],
      interest: ['x'],
    });
    const b2 = await clientFor(federation, 'b2', 'broker', { sub: ['#'] });
    await b2.register({ id: 'b2', linkUrl: 'ws://b2/peer', interest: ['sensors/+/t', 'other'] });
    expect((await events.next()).event).toEqual({
      type: 'joined',
      id: 'w',
      broker: {
        id: 'b2',
        linkUrl: 'ws://b2/peer',
        topics: [],
        interest: ['sensors/+/t'],
        leaseExpiresAt: expect.any(Number),
      },
    });
    await b2.advertiseInterest('b2', { add: ['more/other'] });
    await b2.advertiseInterest('b2', { add: ['sensors/#', 'weather'] });
    expect((await events.next()).event).toEqual({
      type: 'interest-added',
      id: 'w',
      brokerId: 'b2',
      interest: ['sensors/#'],
    });
    await b2.advertiseInterest('b2', { remove: ['sensors/+/t', 'other'] });
    expect((await events.next()).event).toEqual({
      type: 'interest-removed',
      id: 'w',
      brokerId: 'b2',
      interest: ['sensors/+/t'],
    });
    await b2.advertiseInterest('b2', { remove: ['sensors/#'] });
    expect((await events.next()).event).toEqual({
      type: 'left',
      id: 'w',
      brokerId: 'b2',
      reason: 'withdrawn',
    });
    await b1.advertiseInterest('b1', { add: ['sensors/1'] });
    expect((await events.next()).event).toMatchObject({
      type: 'joined',
      broker: { id: 'b1', topics: [], interest: ['sensors/1'] },
    });
    expect(events.pending).toBe(0);
  });

  it('a watch of topics and interest keeps a broker while either matches', async () => {
    await using federation = await startFederation();
    const b1 = await clientFor(federation, 'b1', 'broker', { pub: ['#'], sub: ['#'] });
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', topics: ['data/1'], interest: ['x'] });
    const b2 = await clientFor(federation, 'b2', 'broker', { pub: ['#'], sub: ['#'] });
    await b2.register({ id: 'b2', linkUrl: 'ws://b2/peer', topics: ['x'], interest: ['data/+'] });
    const watcher = await clientFor(federation, 'monitor', 'discovery');
    const events = eventQueue<WatchEvent>();
    await using watch = await watcher.watch(['data/#'], (event) => events.push(event), {
      interestFilters: ['data/#'],
    });
    expect(watch.snapshot.map((b) => [b.id, b.topics, b.interest])).toEqual([
      ['b1', ['data/1'], []],
      ['b2', [], ['data/+']],
    ]);
    await events.next();

    await b1.advertiseInterest('b1', { add: ['data/#'] });
    expect((await events.next()).event).toMatchObject({ type: 'interest-added', brokerId: 'b1' });
    await b1.advertise('b1', { remove: ['data/1'] });
    expect((await events.next()).event).toMatchObject({ type: 'topics-removed', brokerId: 'b1' });
    await b1.advertiseInterest('b1', { remove: ['data/#'] });
    expect((await events.next()).event).toMatchObject({
      type: 'left',
      brokerId: 'b1',
      reason: 'withdrawn',
    });
    await b2.advertise('b2', { add: ['data/2'] });
    expect((await events.next()).event).toMatchObject({
      type: 'topics-added',
      brokerId: 'b2',
      topics: ['data/2'],
    });
    expect(events.pending).toBe(0);
  });

  it('a watch without interest filters sees records with no interest, as before', async () => {
    await using federation = await startFederation();
    const b1 = await clientFor(federation, 'b1', 'broker', { pub: ['#'], sub: ['#'] });
    const watcher = await clientFor(federation, 'monitor', 'discovery');
    const events = eventQueue<WatchEvent>();
    await using _watch = await watcher.watch('a/#', (event) => events.push(event));
    await events.next();
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', topics: ['a/1'], interest: ['a/#'] });
    expect((await events.next()).event).toMatchObject({
      type: 'joined',
      broker: { id: 'b1', topics: ['a/1'], interest: [] },
    });
    // Interest changes are invisible to it.
    await b1.advertiseInterest('b1', { add: ['a/+'] });
    await b1.advertise('b1', { add: ['a/2'] });
    expect((await events.next()).event).toMatchObject({ type: 'topics-added', topics: ['a/2'] });
  });

  it('a watch with neither topic nor interest filters is refused', async () => {
    await using federation = await startFederation();
    const watcher = await clientFor(federation, 'monitor', 'discovery');
    await expect(watcher.watch([], () => {})).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(watcher.watch([], () => {}, { interestFilters: [] })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });
});
