import { describe, expect, it } from 'vitest';
import { SEEN_CHUNK, SeenSet } from './seen-set.ts';

const all = () => true;

describe('the set of messages a subscriber has seen', () => {
  it('tells a first arrival from a duplicate, in any order', () => {
    const seen = new SeenSet(10, all);
    expect(seen.add(3)).toBe(true);
    expect(seen.add(1)).toBe(true);
    expect(seen.add(3)).toBe(false);
    expect([0, 1, 2, 3].map((seq) => seen.has(seq))).toEqual([false, true, false, true]);
    // Out of the schedule: never seen, never first.
    expect(seen.add(10)).toBe(false);
    expect(seen.add(-1)).toBe(false);
    expect(seen.has(10)).toBe(false);
  });

  it('holds one chunk at a time for a long run that loses nothing, and still knows every message', () => {
    const count = 100 * SEEN_CHUNK;
    const seen = new SeenSet(count, all);
    let most = 0;
    let first = 0;
    for (let seq = 0; seq < count; seq++) {
      if (seen.add(seq)) first += 1;
      most = Math.max(most, seen.liveBytes);
    }
    expect(first).toBe(count);
    // 100 chunks went by; never more than one held its 128 bytes, and none is held now.
    expect(most).toBe(SEEN_CHUNK / 8);
    expect(seen.liveBytes).toBe(0);
    expect(seen.has(0) && seen.has(count - 1)).toBe(true);
    // A duplicate of a completed chunk is still a duplicate.
    expect(seen.add(5)).toBe(false);
  });

  it('keeps the chunk of a lost message, and only that one, and finds a late arrival in it', () => {
    const count = 10 * SEEN_CHUNK;
    const seen = new SeenSet(count, all);
    const lost = 3 * SEEN_CHUNK + 17;
    for (let seq = 0; seq < count; seq++) if (seq !== lost) seen.add(seq);
    expect(seen.liveBytes).toBe(SEEN_CHUNK / 8);
    expect(seen.has(lost)).toBe(false);
    // A QoS 1 resend long after: a first arrival, not a duplicate, however old.
    expect(seen.add(lost)).toBe(true);
    expect(seen.liveBytes).toBe(0);
  });

  it('completes a chunk on the messages the subscriber can receive, not on every number', () => {
    // Every other message is on a topic the subscriber does not match, and the first 100 are
    // the warm-up: a chunk is complete once the rest of its matching ones arrived.
    const expected = (seq: number) => seq % 2 === 0 && seq >= 100;
    const seen = new SeenSet(2 * SEEN_CHUNK, expected);
    for (let seq = 100; seq < SEEN_CHUNK; seq += 2) seen.add(seq);
    expect(seen.liveBytes).toBe(0);
    expect(seen.has(101)).toBe(false);
    expect(seen.has(102)).toBe(true);
  });
});
