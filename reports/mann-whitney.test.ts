import { describe, expect, it } from 'vitest';
import { mannWhitneyU, normalUpperTail, smallestPValue } from './mann-whitney.ts';

/** P(U ≥ u) by trying every split of the pooled values into groups of n1 and n2: the definition. */
function bruteForcePGreater(x: readonly number[], y: readonly number[]): number {
  const pooled = [...x, ...y];
  const uOf = (a: readonly number[], b: readonly number[]) =>
    a.reduce((sum, ai) => sum + b.reduce((s, bj) => s + (ai > bj ? 1 : ai === bj ? 0.5 : 0), 0), 0);
  const observed = uOf(x, y);
  let total = 0;
  let atLeast = 0;
  const choose = (start: number, picked: number[]) => {
    if (picked.length === x.length) {
      const a = picked.map((i) => pooled[i]!);
      const b = pooled.filter((_, i) => !picked.includes(i));
      total++;
      if (uOf(a, b) >= observed - 1e-9) atLeast++;
      return;
    }
    for (let i = start; i < pooled.length; i++) choose(i + 1, [...picked, i]);
  };
  choose(0, []);
  return atLeast / total;
}

describe('the Mann–Whitney U test', () => {
  it('gives 1/20 one-sided for three values all above three others', () => {
    const result = mannWhitneyU([4, 5, 6], [1, 2, 3]);
    expect(result.u).toBe(9);
    expect(result.method).toBe('exact');
    expect(result.pGreater).toBeCloseTo(0.05, 12);
    expect(result.pLess).toBe(1);
    expect(result.pTwoSided).toBeCloseTo(0.1, 12);
  });

  it('gives 1/252 one-sided for five values all above five others, its smallest p', () => {
    const result = mannWhitneyU([1.21, 1.22, 1.23, 1.24, 1.25], [1.0, 1.01, 1.02, 1.03, 1.04]);
    expect(result.u).toBe(25);
    expect(result.pGreater).toBeCloseTo(1 / 252, 12);
    expect(smallestPValue(5, 5)).toBeCloseTo(1 / 252, 12);
    // The other way round, the same p for "less".
    const reversed = mannWhitneyU([1.0, 1.01, 1.02, 1.03, 1.04], [1.21, 1.22, 1.23, 1.24, 1.25]);
    expect(reversed.u).toBe(0);
    expect(reversed.pLess).toBeCloseTo(1 / 252, 12);
  });

  it('matches the table for 4 against 4: P(U ≤ 1) = 2/70, P(U ≤ 3) = 7/70', () => {
    // One swap: x ranks {1, 2, 3, 5} → U = 1; three: {1, 2, 5, 6}... here {1, 3, 4, 5} → U = 3.
    expect(mannWhitneyU([1, 2, 3, 5], [4, 6, 7, 8]).pLess).toBeCloseTo(2 / 70, 12);
    expect(mannWhitneyU([1, 3, 4, 5], [2, 6, 7, 8]).pLess).toBeCloseTo(7 / 70, 12);
  });

  it('counts ties at half a pair and stays exact over mid-ranks', () => {
    const x = [1, 2, 2, 3];
    const y = [2, 3, 4, 4, 5];
    const result = mannWhitneyU(x, y);
    expect(result.u).toBe(2.5);
    expect(result.method).toBe('exact');
    // 0.0556 by a reference implementation (scipy mannwhitneyu, method="exact", "less").
    expect(result.pLess).toBeCloseTo(0.05555555555555555, 10);
    expect(result.pLess).toBeCloseTo(bruteForcePGreater(y, x), 12);
    expect(result.pGreater).toBeCloseTo(bruteForcePGreater(x, y), 12);
  });

  it('agrees with trying every split for small samples with and without ties', () => {
    const cases: [number[], number[]][] = [
      [
        [3, 1, 4, 1, 5],
        [9, 2, 6, 5, 3],
      ],
      [
        [2.5, 2.5, 2.5],
        [2.5, 1, 4, 4],
      ],
      [
        [10, 20, 30, 40, 50, 60],
        [15, 25, 35],
      ],
      [[7], [1, 2, 3, 8]],
    ];
    for (const [x, y] of cases) {
      expect(mannWhitneyU(x, y).pGreater).toBeCloseTo(bruteForcePGreater(x, y), 12);
      expect(mannWhitneyU(y, x).pGreater).toBeCloseTo(bruteForcePGreater(y, x), 12);
    }
  });

  it('says nothing (p = 1) when every value is the same', () => {
    const result = mannWhitneyU([3, 3, 3], [3, 3, 3]);
    expect(result.pGreater).toBe(1);
    expect(result.pLess).toBe(1);
    const large = mannWhitneyU(Array(40).fill(3), Array(40).fill(3));
    expect(large.method).toBe('normal');
    expect(large.pGreater).toBe(1);
  });

  it('uses the normal approximation with tie correction for larger samples', () => {
    // 30 against 30, with ties; 0.02542 one-sided by a reference implementation (scipy
    // mannwhitneyu, method="asymptotic", with its tie and continuity corrections).
    const a = [
      10.7, 11.6, 10.7, 7.4, 11.8, 10.9, 8.9, 11.2, 10.7, 10.6, 10.1, 11.1, 8.5, 9.7, 9.0, 11.2,
      10.1, 9.4, 8.4, 9.5, 10.0, 9.4, 12.6, 12.0, 4.6, 6.2, 9.7, 9.2, 10.4, 10.4,
    ];
    const b = [
      15.2, 8.8, 10.2, 15.1, 12.3, 12.3, 10.0, 7.7, 11.3, 11.2, 8.5, 9.6, 10.9, 9.1, 10.8, 11.2,
      11.1, 10.0, 12.2, 12.8, 11.6, 9.4, 12.5, 10.0, 12.8, 8.9, 12.8, 11.0, 8.5, 10.4,
    ];
    const result = mannWhitneyU(b, a, { exactLimit: 20 });
    expect(result.method).toBe('normal');
    expect(result.u).toBe(582.5);
    expect(result.pGreater).toBeCloseTo(0.025420482664727368, 6);
    expect(result.pTwoSided).toBeCloseTo(0.050840965329454736, 6);
    // The exact count over the same mid-ranks lands close by.
    expect(mannWhitneyU(b, a, { exactLimit: 60 }).pGreater).toBeCloseTo(0.0254, 2);
  });

  it('knows the smallest p a sample size allows', () => {
    expect(smallestPValue(1, 1)).toBe(0.5);
    expect(smallestPValue(2, 2)).toBeCloseTo(1 / 6, 12);
    expect(smallestPValue(3, 3)).toBeCloseTo(1 / 20, 12);
    expect(smallestPValue(3, 4)).toBeCloseTo(1 / 35, 12);
    expect(smallestPValue(0, 5)).toBe(1);
  });

  it('has a normal tail good to 1e-7', () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(1.959963985)).toBeCloseTo(0.025, 7);
    expect(normalUpperTail(-1.644853627)).toBeCloseTo(0.95, 7);
  });
});
