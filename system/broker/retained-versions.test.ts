import { describe, expect, it } from 'vitest';
import { manualClock } from '../common/testing.ts';
import { compareVersions, RetainedVersions } from './retained-versions.ts';

function versions(options: { tombstoneMs?: number; maxTombstones?: number } = {}) {
  const clock = manualClock(1_000_000);
  const held = new RetainedVersions({
    clock,
    tombstoneMs: options.tombstoneMs ?? 60_000,
    maxTombstones: options.maxTombstones ?? 100,
  });
  held.selfId = 'b1';
  return { clock, held };
}

describe('retained versions compare by time, then origin', () => {
  it('orders by time first, then by origin in code units, and is equal only for equal pairs', () => {
    expect(compareVersions({ time: 1, origin: 'z' }, { time: 2, origin: 'a' })).toBeLessThan(0);
    expect(compareVersions({ time: 2, origin: 'a' }, { time: 2, origin: 'b' })).toBeLessThan(0);
    expect(compareVersions({ time: 2, origin: 'b' }, { time: 2, origin: 'a' })).toBeGreaterThan(0);
    // Code units, not locale: 'B' (0x42) sorts before 'a' (0x61).
    expect(compareVersions({ time: 2, origin: 'B' }, { time: 2, origin: 'a' })).toBeLessThan(0);
    expect(compareVersions({ time: 2, origin: 'a' }, { time: 2, origin: 'a' })).toBe(0);
  });
});

describe('a broker keeps only newer versions', () => {
  it('replaces a message only by a newer one, and a delete leaves a tombstone that outranks older copies', () => {
    const { held } = versions();
    expect(held.record('t', { time: 10, origin: 'b2' }, false)).toBe(true);
    expect(held.record('t', { time: 9, origin: 'b3' }, false)).toBe(false);
    expect(held.record('t', { time: 10, origin: 'b2' }, false)).toBe(false);
    expect(held.record('t', { time: 11, origin: 'b2' }, true)).toBe(true);
    expect(held.held('t')).toEqual({ version: { time: 11, origin: 'b2' }, deleted: true });
    // The copy fetched late from a peer that missed the delete cannot come back.
    expect(held.isNewer('t', { time: 10, origin: 'b9' })).toBe(false);
    expect(held.record('t', { time: 12, origin: 'b3' }, false)).toBe(true);
    expect(held.tombstoneCount).toBe(0);
  });

  it('forgets a tombstone after its time and when the count bound pushes it out, and says so', () => {
    const { clock, held } = versions({ tombstoneMs: 1_000, maxTombstones: 2 });
    const forgotten: string[] = [];
    held.onForget = (topic) => forgotten.push(topic);
    held.record('a', { time: 1, origin: 'b2' }, true);
    held.record('b', { time: 1, origin: 'b2' }, true);
    held.record('c', { time: 1, origin: 'b2' }, true);
    expect(forgotten).toEqual(['a']);
    expect(held.tombstoneCount).toBe(2);
    clock.advance(1_000);
    expect(held.held('b')).toBeUndefined();
    expect([...held.tombstones(() => true)]).toEqual([]);
    expect(forgotten).toEqual(['a', 'b', 'c']);
  });
});

describe('versions this broker issues', () => {
  it('are monotone, above every version held for the topic, and above those restored after a restart', () => {
    const { clock, held } = versions();
    const first = held.issue('t');
    expect(first).toEqual({ time: 1_000_000, origin: 'b1' });
    // Same millisecond: still later.
    expect(held.issue('u').time).toBe(1_000_001);
    // A peer with a fast clock holds the topic: the local publish still wins.
    held.record('t', { time: 5_000_000, origin: 'b2' }, false);
    expect(held.issue('t').time).toBe(5_000_001);

    const { held: restarted } = versions();
    restarted.restoreMessage('x', { time: 9_000_000, origin: 'b1' });
    clock.advance(1);
    expect(restarted.issue('y').time).toBe(9_000_001);
  });

  it('tell a listener which topics hold a message this broker originated', () => {
    const { held } = versions();
    held.restoreMessage('old', { time: 1, origin: 'b1' });
    const changes: [string, boolean][] = [];
    held.onOwnTopic((topic, own) => changes.push([topic, own]));
    held.record('mine', held.issue('mine'), false);
    held.record('theirs', { time: 1, origin: 'b2' }, false);
    held.record('mine', { time: Number.MAX_SAFE_INTEGER, origin: 'b2' }, false);
    held.record('old', held.issue('old'), true);
    expect(changes).toEqual([
      ['old', true],
      ['mine', true],
      ['mine', false],
      ['old', false],
    ]);
  });

  it('link a payload to its version once', () => {
    const { held } = versions();
    const payload = Buffer.from('x');
    held.tag(payload, { time: 3, origin: 'b2' });
    expect(held.take(Buffer.from('x'))).toBeUndefined();
    expect(held.take(payload)).toEqual({ time: 3, origin: 'b2' });
    expect(held.take(payload)).toBeUndefined();
  });
});
