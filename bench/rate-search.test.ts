import { describe, expect, it } from 'vitest';
import { roundRate, roundRateUp, searchRate } from './rate-search.ts';

const options = { startRate: 10_000, growth: 2, maxRate: 1_000_000, minRate: 100, resolution: 0.1 };

/** A system that passes up to `capacity` msg/s. */
const upTo = (capacity: number) => async (rate: number) => ({
  pass: rate <= capacity,
  result: rate,
});

describe('searchRate', () => {
  it('steps up geometrically, then bisects between the last pass and the first fail', async () => {
    const outcome = await searchRate(options, upTo(100_000));
    expect(outcome.trials.slice(0, 5).map((t) => [t.rate, t.pass])).toEqual([
      [10_000, true],
      [20_000, true],
      [40_000, true],
      [80_000, true],
      [160_000, false],
    ]);
    expect(outcome.highestPass).toBeLessThanOrEqual(100_000);
    expect(outcome.lowestFail! / outcome.highestPass! - 1).toBeLessThanOrEqual(0.1);
    expect(outcome.highestPass).toBeGreaterThan(90_000);
  });

  it('steps down when the start rate fails', async () => {
    const outcome = await searchRate(options, upTo(3_000));
    expect(outcome.trials.slice(0, 4).map((t) => t.rate)).toEqual([10_000, 5_000, 2_500, 3_540]);
    expect(outcome.highestPass).toBeLessThanOrEqual(3_000);
    expect(outcome.lowestFail).toBeGreaterThan(3_000);
  });

  it('stops at the maximum rate when everything passes, and at the minimum when nothing does', async () => {
    const all = await searchRate({ ...options, maxRate: 50_000 }, upTo(Infinity));
    expect(all.trials.map((t) => t.rate)).toEqual([10_000, 20_000, 40_000, 50_000]);
    expect(all.lowestFail).toBeUndefined();
    const none = await searchRate({ ...options, minRate: 2_000 }, upTo(0));
    expect(none.trials.map((t) => t.rate)).toEqual([10_000, 5_000, 2_500, 2_000]);
    expect(none.highestPass).toBeUndefined();
  });
});

describe('roundRate', () => {
  it('keeps three significant digits', () => {
    expect(roundRate(113_137)).toBe(113_000);
    expect(roundRate(2_828.4)).toBe(2_830);
    expect(roundRate(42.4)).toBe(42);
  });
});

describe('roundRateUp', () => {
  it('keeps three significant digits without going below the rate: half a rate is at least half', () => {
    expect(roundRateUp(1_145)).toBe(1_150);
    expect(roundRateUp(21_800 / 2)).toBe(10_900);
    expect(roundRateUp(113_137)).toBe(114_000);
    expect(roundRateUp(42.4)).toBe(43);
    expect(roundRateUp(999.6)).toBe(1_000);
  });
});
