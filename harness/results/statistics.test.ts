import { describe, expect, it } from 'vitest';
import { median, medianInterval, quantileOfSorted } from './statistics.ts';

describe('statistics over repetitions', () => {
  it('the median of an odd count is the middle value, of an even count the mean of the two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('quantiles interpolate between closest ranks', () => {
    expect(quantileOfSorted([0, 10], 0.25)).toBe(2.5);
    expect(quantileOfSorted([1, 2, 3], 1)).toBe(3);
  });

  it('one repetition gives an interval of width 0 that says n = 1', () => {
    expect(medianInterval([0.42])).toEqual({ estimate: 0.42, lo: 0.42, hi: 0.42, n: 1 });
  });

  it('the interval holds the median and spans only values that were seen', () => {
    const values = [0.5, 0.52, 0.49, 0.51, 0.6];
    const interval = medianInterval(values);
    expect(interval.estimate).toBe(0.51);
    expect(interval.n).toBe(5);
    expect(interval.lo).toBeLessThanOrEqual(interval.estimate);
    expect(interval.hi).toBeGreaterThanOrEqual(interval.estimate);
    expect(interval.lo).toBeGreaterThanOrEqual(Math.min(...values));
    expect(interval.hi).toBeLessThanOrEqual(Math.max(...values));
  });

  it('is reproducible: the same figures give the same interval', () => {
    const values = [3, 1, 4, 1, 5, 9, 2, 6];
    expect(medianInterval(values)).toEqual(medianInterval(values));
  });

  it('narrows as repetitions agree and widens as they scatter', () => {
    const tight = medianInterval([1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0]);
    const loose = medianInterval([1.0, 1.5, 0.6, 1.0, 1.9, 0.4, 1.0]);
    expect(tight.hi - tight.lo).toBeLessThan(loose.hi - loose.lo);
  });

  it('covers the true median of a skewed population about 95 % of the time', () => {
    // Exponential figures (delays are skewed): true median ln 2. 200 samples of 15 each.
    let state = 7;
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state / 2 ** 31;
    };
    let covered = 0;
    for (let trial = 0; trial < 200; trial++) {
      const values = Array.from({ length: 15 }, () => -Math.log(1 - random()));
      const { lo, hi } = medianInterval(values, { resamples: 2_000, seed: trial });
      if (lo <= Math.LN2 && Math.LN2 <= hi) covered += 1;
    }
    // Percentile bootstrap of a median undercovers a little at small n; far below would be a bug.
    expect(covered / 200).toBeGreaterThan(0.85);
    expect(covered / 200).toBeLessThanOrEqual(1);
  });

  it('ignores figures that are not finite (a repetition with nothing to compare)', () => {
    expect(medianInterval([Number.NaN, 2, Number.POSITIVE_INFINITY, 4]).n).toBe(2);
  });
});
