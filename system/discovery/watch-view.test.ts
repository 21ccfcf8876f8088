import { describe, expect, it } from 'vitest';
import { type BrokerRecord, createBrokerDirectory } from './broker-directory.ts';
import { manualClock } from './discovery.fixtures.ts';
import type { WatchEvent } from './watch-frames.ts';
import { createWatchView, type WatchSelection } from './watch-view.ts';

/** A directory whose changes go to one watch view, and the events the view answers. */
function watched(selection: WatchSelection) {
  const events: WatchEvent[] = [];
  let apply = (_events: WatchEvent[]) => {};
  const dir = createBrokerDirectory({
    clock: manualClock(1_000_000),
    maxTopicsPerBroker: 100,
    onChange: (change) => apply(view.apply(change)),
  });
  const view = createWatchView('w', selection, dir.list());
  apply = (more) => events.push(...more);
  const register = (id: string, topics: string[], interest: string[]) =>
    dir.register({ id, linkUrl: `ws://${id}`, ttlMs: 1_000, topics, interest });
  return { dir, view, events, register };
}

/** One line per event: its type, broker, and the entries it carries (topics | interest). */
const summary = (events: WatchEvent[]) =>
  events.map((event) => {
    const sets = (b: BrokerRecord) => `${b.id} ${b.topics} | ${b.interest}`;
    if (event.type === 'snapshot') return `snapshot ${event.brokers.map(sets).join(', ')}`;
    if (event.type === 'joined') return `joined ${sets(event.broker)}`;
    if (event.type === 'left') return `left ${event.brokerId} ${event.reason}`;
    if (event.type === 'topics-added' || event.type === 'topics-removed') {
      return `${event.type} ${event.brokerId} ${event.topics}`;
    }
    return `${event.type} ${event.brokerId} ${event.interest}`;
  });

/** A record whose whole sets cannot be read: only a delta's own entries may be matched. */
function withUnreadableSets(id: string): BrokerRecord {
  return {
    id,
    linkUrl: `ws://${id}`,
    leaseExpiresAt: 0,
    get topics(): string[] {
      throw new Error('a delta read the whole topic set');
    },
    get interest(): string[] {
      throw new Error('a delta read the whole interest');
    },
  };
}

describe('a watch of interest sees the brokers whose clients want its data', () => {
  it('starts with the brokers whose interest intersects, with only that interest', () => {
    const { dir, register, view } = watched({ filters: [], interestFilters: ['sensors/#'] });
    register('b1', ['sensors/t1'], ['sensors/+/t', 'other/#']);
    register('b2', ['sensors/t2'], ['alerts/x']);
    register('b3', [], ['#', '$SYS/#']);
    const late = createWatchView('late', view.selection, dir.list());
    expect(summary([late.snapshot()])).toEqual(['snapshot b1  | sensors/+/t, b3  | #']);
  });

  it('follows a broker’s interest through added, removed and withdrawn', () => {
    const { dir, events, register } = watched({ filters: [], interestFilters: ['sensors/#'] });
    register('b1', ['sensors/t1'], ['other']);
    dir.advertiseInterest('b1', { add: ['sensors/+'] });
    dir.advertiseInterest('b1', { add: ['sensors/a', 'more/other'] });
    dir.advertise('b1', { add: ['sensors/t2'] });
    dir.advertiseInterest('b1', { remove: ['sensors/+', 'other'] });
    dir.advertiseInterest('b1', { remove: ['sensors/a'] });
    expect(summary(events)).toEqual([
      'joined b1  | sensors/+',
      'interest-added b1 sensors/a',
      'interest-removed b1 sensors/+',
      'left b1 withdrawn',
    ]);
  });

  it('keeps a broker while its topics or its interest match, and withdraws it when neither does', () => {
    const { dir, events, register } = watched({
      filters: ['data/#'],
      interestFilters: ['data/#'],
    });
    register('topics-only', ['data/x'], ['other']);
    register('interest-only', ['other'], ['data/+']);
    register('b1', ['data/1'], []);
    dir.advertiseInterest('b1', { add: ['data/#'] });
    dir.advertise('b1', { remove: ['data/1'] });
    dir.advertiseInterest('topics-only', { add: ['still/other'] });
    dir.advertise('interest-only', { add: ['more/other'] });
    dir.advertiseInterest('b1', { remove: ['data/#'] });
    dir.advertiseInterest('b1', { add: ['#'] });
    expect(summary(events)).toEqual([
      'joined topics-only data/x | ',
      'joined interest-only  | data/+',
      'joined b1 data/1 | ',
      'interest-added b1 data/#',
      'topics-removed b1 data/1',
      'left b1 withdrawn',
      'joined b1  | #',
    ]);
  });

  it('matches a registration in full: a broker registering again with only interest stays', () => {
    const { events, register } = watched({ filters: ['a'], interestFilters: ['a'] });
    register('b1', ['a'], []);
    register('b1', [], ['+']);
    register('b1', [], ['b']);
    expect(summary(events)).toEqual(['joined b1 a | ', 'joined b1  | +', 'left b1 withdrawn']);
  });

  it('a delta costs O(delta × filters): it never reads the broker’s whole sets', () => {
    const view = createWatchView('w', { filters: ['t/#'], interestFilters: ['i/#'] }, []);
    const broker = withUnreadableSets('b1');
    const delta = (type: 'topics-changed' | 'interest-changed', added: string[], removed = []) =>
      summary(view.apply({ type, broker, added, removed }));
    // Outside the view, only what a delta adds can bring the broker in.
    expect(delta('topics-changed', ['x'])).toEqual([]);
    expect(delta('interest-changed', ['i/1', 'x'])).toEqual(['joined b1  | i/1']);
    expect(delta('topics-changed', ['t/1'])).toEqual(['topics-added b1 t/1']);
    expect(view.apply({ type: 'interest-changed', broker, added: [], removed: ['i/1'] })).toEqual([
      { type: 'interest-removed', id: 'w', brokerId: 'b1', interest: ['i/1'] },
    ]);
    expect(
      view.apply({ type: 'topics-changed', broker, added: [], removed: ['t/1', 'x'] }),
    ).toEqual([{ type: 'left', id: 'w', brokerId: 'b1', reason: 'withdrawn' }]);
    expect(summary([view.snapshot()])).toEqual(['snapshot ']);
  });
});
