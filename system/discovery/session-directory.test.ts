import { describe, expect, it } from 'vitest';
import { manualClock } from '../common/testing.ts';
import type { MqfedError } from '../protocol/index.ts';
import { createSessionDirectory, type SessionDirectoryOptions } from './session-directory.ts';

const hour = 60 * 60_000;

function directory(options: Partial<SessionDirectoryOptions> = {}) {
  const clock = manualClock();
  const dropped: [string, number][] = [];
  const sessions = createSessionDirectory({
    clock,
    maxSessionsPerBroker: 100,
    maxSessions: 1_000,
    orphanTtlMs: 24 * hour,
    onOrphansDropped: (holder, count) => dropped.push([holder, count]),
    ...options,
  });
  return { clock, sessions, dropped };
}

const codeOf = (run: () => unknown) => {
  try {
    run();
    return 'done';
  } catch (error) {
    return (error as MqfedError).code;
  }
};

describe('the session directory', () => {
  it('hands out strictly growing epochs, and larger ones after a restart', () => {
    const { clock, sessions } = directory();
    const epochs = ['a', 'b', 'a', 'c', 'a'].map(
      (id, i) => sessions.claim(id, `b${i % 2}`).entry.epoch,
    );
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]).toBeGreaterThan(epochs[i - 1] ?? 0);
    for (let i = 0; i < 900; i++) sessions.claim('again', 'b0');
    const last = sessions.claim('last', 'b0').entry.epoch;
    // 900 claims in a millisecond: one millisecond later a new directory (discovery restarted)
    // starts above all of them.
    clock.advance(1);
    const restarted = createSessionDirectory({
      clock,
      maxSessionsPerBroker: 10,
      maxSessions: 10,
      orphanTtlMs: hour,
    });
    expect(restarted.claim('a', 'b0').entry.epoch).toBeGreaterThan(last);
    restarted.close();
    sessions.close();
  });

  it('moves a session between holders and keeps their counts right', () => {
    const { sessions } = directory();
    expect(sessions.claim('c', 'b1').outcome).toBe('new');
    expect(sessions.claim('c', 'b1').outcome).toBe('kept');
    const moved = sessions.claim('c', 'b2');
    expect(moved.outcome).toBe('moved');
    expect(moved.previous?.holder).toBe('b1');
    expect([sessions.heldBy('b1'), sessions.heldBy('b2'), sessions.size]).toEqual([0, 1, 1]);
    expect(codeOf(() => sessions.release('c', 'b1'))).toBe('SESSION_MOVED');
    expect(codeOf(() => sessions.release('c', 'b2', moved.entry.epoch - 1))).toBe('SESSION_MOVED');
    sessions.release('c', 'b2', moved.entry.epoch);
    expect(codeOf(() => sessions.release('c', 'b2'))).toBe('SESSION_NOT_FOUND');
    expect([sessions.heldBy('b2'), sessions.size]).toEqual([0, 0]);
  });

  it('refuses over its caps without changing anything', () => {
    const limits: string[] = [];
    const { sessions } = directory({
      maxSessionsPerBroker: 2,
      maxSessions: 3,
      onLimit: (limit) => limits.push(limit),
    });
    sessions.claim('a', 'b1');
    sessions.claim('b', 'b1');
    expect(codeOf(() => sessions.claim('c', 'b1'))).toBe('SESSION_LIMIT_EXCEEDED');
    sessions.claim('c', 'b2');
    expect(codeOf(() => sessions.claim('d', 'b3'))).toBe('SESSION_LIMIT_EXCEEDED');
    expect(codeOf(() => sessions.restore('b3', ['d']))).toBe('SESSION_LIMIT_EXCEEDED');
    // A move grows nothing but the taker's count.
    expect(sessions.claim('a', 'b3').outcome).toBe('moved');
    expect(limits).toEqual(['sessions_per_broker', 'sessions', 'sessions']);
    expect([sessions.size, sessions.heldBy('b1'), sessions.heldBy('b3')]).toEqual([3, 1, 1]);
    expect(sessions.lookup('d')).toBeUndefined();
  });

  it('drops the sessions of a broker leaseless for the orphan TTL, and only those', () => {
    const { clock, sessions, dropped } = directory();
    sessions.brokerJoined('leased');
    sessions.claim('l1', 'leased');
    sessions.claim('o1', 'orphan');
    sessions.restore('orphan', ['o2', 'o3']);
    sessions.brokerJoined('gone');
    sessions.claim('g1', 'gone');
    clock.advance(12 * hour);
    sessions.brokerLeft('gone');
    clock.advance(12 * hour - 1);
    expect(sessions.sweep()).toBe(0);
    clock.advance(1);
    expect(sessions.sweep()).toBe(3);
    expect(dropped).toEqual([['orphan', 3]]);
    expect(sessions.lookup('o2')).toBeUndefined();
    expect(sessions.lookup('g1')?.holder).toBe('gone');
    // Coming back within the TTL keeps the sessions; leaving again starts the TTL again.
    clock.advance(11 * hour);
    sessions.brokerJoined('gone');
    clock.advance(48 * hour);
    expect(sessions.sweep()).toBe(0);
    sessions.brokerLeft('gone');
    clock.advance(24 * hour);
    // Asking drops what the sweep has not reached yet.
    expect(sessions.lookup('g1')).toBeUndefined();
    expect(sessions.lookup('l1')?.holder).toBe('leased');
    expect([sessions.size, sessions.heldBy('gone')]).toEqual([1, 0]);
  });

  it('gives a fresh claim of an expired orphan a fresh TTL, not its old one', () => {
    const { clock, sessions } = directory({ orphanTtlMs: hour });
    sessions.claim('old', 'b1');
    clock.advance(hour);
    const fresh = sessions.claim('new', 'b1');
    expect(fresh.outcome).toBe('new');
    expect(sessions.lookup('old')).toBeUndefined();
    clock.advance(hour - 1);
    expect(sessions.lookup('new')?.holder).toBe('b1');
  });

  it('sweeps on its own timer when given an interval', async () => {
    const { clock, sessions, dropped } = directory({ orphanTtlMs: hour, sweepIntervalMs: 5 });
    sessions.claim('c', 'b1');
    clock.advance(hour);
    await expect.poll(() => dropped, { timeout: 5_000 }).toEqual([['b1', 1]]);
    expect(sessions.size).toBe(0);
    sessions.close();
  });
});
