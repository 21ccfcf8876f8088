import { describe, expect, it } from 'vitest';
import { SequenceTracker } from './sequence-tracker.ts';

describe('the sequence tracker drops duplicates and counts gaps per origin', () => {
  it('accepts a contiguous run as fresh with no gaps', () => {
    const tracker = new SequenceTracker();
    tracker.startEpoch('a', 1);
    const verdicts = [0, 1, 2, 3].map((seq) => tracker.accept('a', seq));
    expect(verdicts.every((v) => v.fresh && v.gap === 0)).toBe(true);
    expect([tracker.duplicates, tracker.gaps]).toEqual([0, 0]);
  });

  it('drops a repeated or older sequence number as a duplicate', () => {
    const tracker = new SequenceTracker();
    tracker.startEpoch('a', 1);
    tracker.accept('a', 0);
    tracker.accept('a', 1);
    expect(tracker.accept('a', 1)).toEqual({ fresh: false, gap: 0 });
    expect(tracker.accept('a', 0)).toEqual({ fresh: false, gap: 0 });
    expect(tracker.duplicates).toBe(2);
  });

  it('counts the messages skipped by a jump', () => {
    const tracker = new SequenceTracker();
    tracker.startEpoch('a', 1);
    tracker.accept('a', 0);
    expect(tracker.accept('a', 5)).toEqual({ fresh: true, gap: 4 });
    expect(tracker.gaps).toBe(4);
  });

  it('does not count messages before the first one it sees as lost', () => {
    const tracker = new SequenceTracker();
    tracker.startEpoch('a', 1);
    expect(tracker.accept('a', 3)).toEqual({ fresh: true, gap: 0 });
    // Before the first message nothing is known, so a late start is not a loss.
    expect(tracker.gaps).toBe(0);
  });

  it('keeps origins apart', () => {
    const tracker = new SequenceTracker();
    tracker.accept('a', 10);
    expect(tracker.accept('b', 10).fresh).toBe(true);
    expect(tracker.accept('a', 10).fresh).toBe(false);
  });

  it('restarts numbering when the origin announces a new epoch', () => {
    const tracker = new SequenceTracker();
    tracker.startEpoch('a', 1);
    tracker.accept('a', 100);
    tracker.startEpoch('a', 1);
    expect(tracker.accept('a', 0).fresh).toBe(false);
    tracker.startEpoch('a', 2);
    expect(tracker.accept('a', 0)).toEqual({ fresh: true, gap: 0 });
  });
});
