import { describe, expect, it } from 'vitest';
import { MqfedError } from '../protocol/index.ts';
import { createBrokerDirectory, type DirectoryChange } from './broker-directory.ts';
import { manualClock } from './discovery.fixtures.ts';

function directory(maxTopicsPerBroker = 100, maxInterestPerBroker?: number) {
  const clock = manualClock(1_000_000);
  const changes: DirectoryChange[] = [];
  const dir = createBrokerDirectory({
    clock,
    maxTopicsPerBroker,
    ...(maxInterestPerBroker === undefined ? {} : { maxInterestPerBroker }),
    onChange: (change) => changes.push(change),
  });
  const register = (id: string, topics: string[] = [], ttlMs = 1_000, linkUrl = `ws://${id}`) =>
    dir.register({ id, linkUrl, ttlMs, topics });
  return { clock, changes, dir, register };
}

async function codeOf(action: () => unknown): Promise<string | undefined> {
  try {
    await action();
  } catch (error) {
    return error instanceof MqfedError ? error.code : 'not an MqfedError';
  }
  return undefined;
}

describe('the broker directory', () => {
  it('lists a registered broker until its lease runs out, then reports it expired', () => {
    const { clock, changes, dir, register } = directory();
    register('b1', ['a/b']);
    expect(dir.list()).toEqual([
      {
        id: 'b1',
        linkUrl: 'ws://b1',
        topics: ['a/b'],
        interest: [],
        leaseExpiresAt: clock.now() + 1_000,
      },
    ]);
    clock.advance(1_000);
    expect(dir.list()).toEqual([]);
    expect(changes.map((change) => change.type)).toEqual(['registered', 'left']);
    expect(changes[1]).toMatchObject({ type: 'left', reason: 'expired', broker: { id: 'b1' } });
  });

  it('renewing keeps a broker alive; renewing a lost lease is LEASE_NOT_FOUND', async () => {
    const { clock, dir, register } = directory();
    register('b1');
    clock.advance(900);
    expect(dir.renew('b1').leaseExpiresAt).toBe(clock.now() + 1_000);
    clock.advance(900);
    expect(dir.list()).toHaveLength(1);
    clock.advance(100);
    expect(await codeOf(() => dir.renew('b1'))).toBe('LEASE_NOT_FOUND');
    expect(await codeOf(() => dir.renew('never'))).toBe('LEASE_NOT_FOUND');
  });

  it('registering a live id again replaces its link URL and topics, merging nothing', () => {
    const { changes, dir, register } = directory();
    register('b1', ['old/topic'], 1_000, 'ws://old');
    const again = register('b1', ['new/topic'], 2_000, 'wss://new');
    expect(again.replaced).toBe(true);
    expect(dir.list()).toMatchObject([{ linkUrl: 'wss://new', topics: ['new/topic'] }]);
    expect(changes[1]).toMatchObject({
      type: 'registered',
      broker: { linkUrl: 'wss://new' },
      previous: { linkUrl: 'ws://old', topics: ['old/topic'] },
    });
  });

  it('deregistering removes a broker at once; a second time is LEASE_NOT_FOUND', async () => {
    const { changes, dir, register } = directory();
    register('b1');
    dir.deregister('b1');
    expect(dir.list()).toEqual([]);
    expect(changes.at(-1)).toMatchObject({ type: 'left', reason: 'deregistered' });
    expect(await codeOf(() => dir.deregister('b1'))).toBe('LEASE_NOT_FOUND');
  });

  it('advertising reports the real change and none at all for a no-op', () => {
    const { changes, dir, register } = directory();
    register('b1', ['a']);
    expect(dir.advertise('b1', { add: ['b'], remove: ['a'] }).topics).toEqual(['b']);
    expect(changes.at(-1)).toMatchObject({ type: 'topics-changed', added: ['b'], removed: ['a'] });
    dir.advertise('b1', { add: ['b'], remove: ['a'] });
    expect(changes).toHaveLength(2);
  });

  it('advertising for a broker without a lease is LEASE_NOT_FOUND', async () => {
    const { dir } = directory();
    expect(await codeOf(() => dir.advertise('ghost', { add: ['a'] }))).toBe('LEASE_NOT_FOUND');
  });

  it('looks up brokers by filter, each with only its matching topics', () => {
    const { dir, register } = directory();
    register('b1', ['sensors/t1', 'alerts/x']);
    register('b2', ['sensors/+']);
    register('b3', ['other']);
    expect(dir.lookup('sensors/#').map((b) => [b.id, b.topics])).toEqual([
      ['b1', ['sensors/t1']],
      ['b2', ['sensors/+']],
    ]);
    expect(dir.lookup('nothing/here')).toEqual([]);
    expect(dir.list().map((b) => b.id)).toEqual(['b1', 'b2', 'b3']);
  });

  it('refuses a registration over the topic cap and keeps the old one', async () => {
    const { dir, register } = directory(2);
    register('b1', ['a']);
    expect(await codeOf(() => register('b1', ['x', 'y', 'z']))).toBe('TOPIC_LIMIT_EXCEEDED');
    expect(dir.list()).toMatchObject([{ id: 'b1', topics: ['a'] }]);
  });

  it('keeps each broker’s interest beside its topics, replaced by a registration', () => {
    const { changes, dir } = directory();
    dir.register({ id: 'b1', linkUrl: 'ws://b1', ttlMs: 1_000, topics: ['a'], interest: ['x/#'] });
    expect(dir.list()).toMatchObject([{ topics: ['a'], interest: ['x/#'] }]);
    dir.register({ id: 'b1', linkUrl: 'ws://b1', ttlMs: 1_000, topics: ['a'] });
    expect(dir.list()).toMatchObject([{ topics: ['a'], interest: [] }]);
    expect(changes[1]).toMatchObject({ type: 'registered', previous: { interest: ['x/#'] } });
  });

  it('changes interest by a delta and reports it apart from topics', async () => {
    const { changes, dir, register } = directory();
    register('b1', ['a']);
    expect(dir.advertiseInterest('b1', { add: ['x/+', 'y'] }).interest).toEqual(['x/+', 'y']);
    expect(dir.advertiseInterest('b1', { add: ['z'], remove: ['y', 'never'] })).toMatchObject({
      topics: ['a'],
      interest: ['x/+', 'z'],
    });
    expect(changes.slice(1)).toMatchObject([
      { type: 'interest-changed', added: ['x/+', 'y'], removed: [] },
      { type: 'interest-changed', added: ['z'], removed: ['y'] },
    ]);
    dir.advertiseInterest('b1', { add: ['z'] });
    expect(changes).toHaveLength(3);
    expect(await codeOf(() => dir.advertiseInterest('b1', { add: ['q'], remove: ['q'] }))).toBe(
      'INVALID_REQUEST',
    );
    expect(await codeOf(() => dir.advertiseInterest('ghost', { add: ['a'] }))).toBe(
      'LEASE_NOT_FOUND',
    );
  });

  it('a lookup selects by topics and shows only the interest that meets its filter', () => {
    const { dir } = directory();
    dir.register({
      id: 'b1',
      linkUrl: 'ws://b1',
      ttlMs: 1_000,
      topics: ['sensors/t1'],
      interest: ['sensors/+', 'alerts/#'],
    });
    dir.register({ id: 'b2', linkUrl: 'ws://b2', ttlMs: 1_000, topics: [], interest: ['#'] });
    expect(dir.lookup('sensors/#').map((b) => [b.id, b.topics, b.interest])).toEqual([
      ['b1', ['sensors/t1'], ['sensors/+']],
    ]);
  });

  it('caps interest on its own, and a refused registration changes neither set', async () => {
    const { dir } = directory(3, 1);
    const register = (topics: string[], interest: string[]) =>
      dir.register({ id: 'b1', linkUrl: 'ws://b1', ttlMs: 1_000, topics, interest });
    register(['a', 'b'], ['x']);
    expect(await codeOf(() => register(['c'], ['x', 'y']))).toBe('TOPIC_LIMIT_EXCEEDED');
    expect(await codeOf(() => dir.advertiseInterest('b1', { add: ['y'] }))).toBe(
      'TOPIC_LIMIT_EXCEEDED',
    );
    expect(dir.list()).toMatchObject([{ topics: ['a', 'b'], interest: ['x'] }]);
  });
});
