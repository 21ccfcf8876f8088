import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

describe('reconnect backoff', () => {
  it('grows exponentially up to the cap, scaled by the random draw (full jitter)', () => {
    const top = () => 0.999_999;
    expect([0, 1, 2, 3, 10].map((n) => backoffDelay(n, 100, 1_000, top))).toEqual([
      99, 199, 399, 799, 999,
    ]);
    expect(backoffDelay(5, 100, 1_000, () => 0)).toBe(0);
    expect(backoffDelay(5, 100, 1_000, () => 0.5)).toBe(500);
  });

  it('stays finite for very large attempt numbers', () => {
    expect(backoffDelay(10_000, 100, 10_000, () => 0.5)).toBe(5_000);
  });
});
