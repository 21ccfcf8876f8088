/**
 * The Mann–Whitney U test (Wilcoxon rank-sum): do the figures of one group tend to be larger than
 * those of another? [design] The regression compare asks it of a baseline's and a candidate's
 * repetitions, as Google Benchmark's compare.py does. It assumes nothing about the shape of the
 * figures' distribution (delays are skewed and a few repetitions show no shape at all), only that
 * the repetitions are independent draws.
 *
 * - `u` counts the pairs (x, y) with x > y, a tie counting half: 0 when every x is below every y,
 *   n1·n2 when every x is above.
 * - Small samples (n1 + n2 ≤ {@link EXACT_LIMIT}) get the exact distribution of U: every way of
 *   choosing which n1 of the pooled ranks are x's is equally likely under the null hypothesis,
 *   and a dynamic program counts the ways per rank sum. Ties get mid-ranks and the count is over
 *   those same mid-ranks (the conditional, permutation distribution), so ties stay exact too.
 *   With 5 against 5 and no overlap, the one-sided p is 1 / C(10, 5) = 1/252.
 * - Larger samples get the normal approximation with the tie correction of the variance and a
 *   continuity correction of ½.
 */

/** The largest n1 + n2 for which the exact distribution is counted. */
export const EXACT_LIMIT = 50;

export interface MannWhitneyResult {
  /** Pairs with x above y, ties counting half (U of `x`). */
  u: number;
  n1: number;
  n2: number;
  /** P(U ≥ u) under the null hypothesis: small when x tends to be larger. */
  pGreater: number;
  /** P(U ≤ u): small when x tends to be smaller. */
  pLess: number;
  /** Twice the smaller one-sided p, at most 1. */
  pTwoSided: number;
  method: 'exact' | 'normal';
}

/** Ranks 1..N of the pooled values, ties sharing the mean of their ranks; doubled, so integers. */
function doubledMidRanks(pooled: readonly number[]): { ranks: number[]; tieGroups: number[] } {
  const order = pooled.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(pooled.length);
  const tieGroups: number[] = [];
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]!.value === order[start]!.value) end++;
    // Positions start..end (0-based) hold ranks start+1..end+1; their mean, doubled.
    const doubled = start + 1 + (end + 1);
    for (let k = start; k <= end; k++) ranks[order[k]!.index] = doubled;
    tieGroups.push(end - start + 1);
    start = end + 1;
  }
  return { ranks, tieGroups };
}

/**
 * How many ways n1 of the pooled (doubled) ranks sum to each total: counts[s] for s = 0..max.
 * Counts stay below 2^53 (C(50, 25) ≈ 1.3·10^14), so doubles hold them exactly.
 */
function rankSumCounts(ranks: readonly number[], n1: number): Float64Array {
  const max = [...ranks]
    .sort((a, b) => b - a)
    .slice(0, n1)
    .reduce((a, b) => a + b, 0);
  // ways[k][s]: subsets of size k of the ranks seen so far whose doubled ranks sum to s.
  const ways = Array.from({ length: n1 + 1 }, () => new Float64Array(max + 1));
  ways[0]![0] = 1;
  for (const [seen, rank] of ranks.entries()) {
    for (let k = Math.min(seen + 1, n1); k >= 1; k--) {
      const into = ways[k]!;
      const from = ways[k - 1]!;
      for (let s = max; s >= rank; s--) into[s]! += from[s - rank]!;
    }
  }
  return ways[n1]!;
}

/** The standard normal's upper tail, P(Z ≥ z). */
export function normalUpperTail(z: number): number {
  return erfc(z / Math.SQRT2) / 2;
}

/** Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7). */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t *
                              (-1.13520398 +
                                t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * Mann–Whitney U of `x` against `y` (see the top of this file). Non-finite values are dropped;
 * with an empty group every p is 1.
 */
export function mannWhitneyU(
  xs: readonly number[],
  ys: readonly number[],
  options: { exactLimit?: number } = {},
): MannWhitneyResult {
  const x = xs.filter(Number.isFinite);
  const y = ys.filter(Number.isFinite);
  const n1 = x.length;
  const n2 = y.length;
  const exactLimit = options.exactLimit ?? EXACT_LIMIT;
  if (n1 === 0 || n2 === 0) {
    return {
      u: 0,
      n1,
      n2,
      pGreater: 1,
      pLess: 1,
      pTwoSided: 1,
      method: n1 + n2 <= exactLimit ? 'exact' : 'normal',
    };
  }
  const { ranks, tieGroups } = doubledMidRanks([...x, ...y]);
  const doubledRankSum = ranks.slice(0, n1).reduce((a, b) => a + b, 0);
  // U = R1 − n1(n1 + 1)/2, in doubled units: 2U = 2R1 − n1(n1 + 1).
  const u = (doubledRankSum - n1 * (n1 + 1)) / 2;
  let pGreater: number;
  let pLess: number;
  let method: MannWhitneyResult['method'];
  if (n1 + n2 <= exactLimit) {
    method = 'exact';
    const counts = rankSumCounts(ranks, n1);
    let total = 0;
    let atLeast = 0;
    let atMost = 0;
    for (let s = 0; s < counts.length; s++) {
      const ways = counts[s]!;
      if (ways === 0) continue;
      total += ways;
      if (s >= doubledRankSum) atLeast += ways;
      if (s <= doubledRankSum) atMost += ways;
    }
    pGreater = atLeast / total;
    pLess = atMost / total;
  } else {
    method = 'normal';
    const n = n1 + n2;
    const ties = tieGroups.reduce((sum, t) => sum + (t ** 3 - t), 0);
    const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
    const mean = (n1 * n2) / 2;
    if (variance <= 0) {
      pGreater = 1;
      pLess = 1;
    } else {
      const sd = Math.sqrt(variance);
      // P(U ≥ u) ≈ P(Z ≥ (u − ½ − mean) / sd); P(U ≤ u) ≈ P(Z ≥ (mean − u − ½) / sd).
      pGreater = Math.min(1, normalUpperTail((u - 0.5 - mean) / sd));
      pLess = Math.min(1, normalUpperTail((mean - u - 0.5) / sd));
    }
  }
  return {
    u,
    n1,
    n2,
    pGreater,
    pLess,
    pTwoSided: Math.min(1, 2 * Math.min(pGreater, pLess)),
    method,
  };
}

/**
 * The smallest one-sided p the test can give with n1 against n2 repetitions, all distinct: one
 * arrangement in C(n1 + n2, n1). When it is not below alpha, no outcome is significant: 2 against
 * 2 can give 1/6 at best, 3 against 3 1/20, 5 against 5 1/252.
 */
export function smallestPValue(n1: number, n2: number): number {
  if (n1 === 0 || n2 === 0) return 1;
  let ways = 1;
  for (let k = 1; k <= Math.min(n1, n2); k++) ways = (ways * (n1 + n2 - k + 1)) / k;
  return 1 / Math.round(ways);
}
