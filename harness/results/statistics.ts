import type { Interval } from './results-schema.ts';

/**
 * Statistics over a run's repetitions. [design] Each repetition gives one figure (a p50, an
 * overhead); the run reports their median with a 95 % confidence interval drawn by the percentile
 * bootstrap: resample the repetitions with replacement many times, take the median of each
 * resample, and read the 2.5th and 97.5th percentiles of those medians. It assumes nothing about
 * the shape of the figures' distribution (delays are skewed), which is why criterion and most
 * benchmark tools use it. With few repetitions the interval can only span values that were seen,
 * so it is honest about how little five runs can say. The resampling is seeded, so one results
 * file always yields the same interval.
 */

export const DEFAULT_CONFIDENCE = 0.95;
const DEFAULT_RESAMPLES = 10_000;

/** The median of some numbers (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The q-quantile (0..1) of sorted numbers, by linear interpolation between closest ranks. */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const below = Math.floor(position);
  const above = Math.ceil(position);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/**
 * A small, fast, seeded generator (mulberry32): a bootstrap must repeat exactly. [design] Kept
 * here rather than taken from system/common, so the results unit depends on nothing of the
 * services; reports and fixtures use this one.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The median of one bootstrap resample of `values` (drawn with replacement), using `into` (of
 * the same length) as scratch space so a loop of thousands of resamples allocates nothing.
 */
export function resampledMedian(
  values: readonly number[],
  random: () => number,
  into: Float64Array,
): number {
  for (let i = 0; i < values.length; i++) into[i] = values[Math.floor(random() * values.length)]!;
  into.sort();
  const mid = into.length >> 1;
  return into.length % 2 === 1 ? into[mid]! : (into[mid - 1]! + into[mid]!) / 2;
}

export interface IntervalOptions {
  confidence?: number;
  resamples?: number;
  seed?: number;
}

/**
 * The median of `values` with a percentile-bootstrap confidence interval (see above). One value
 * gives an interval of width 0 with n = 1; readers say so rather than showing it as exact.
 */
export function medianInterval(values: readonly number[], options: IntervalOptions = {}): Interval {
  const finite = values.filter((v) => Number.isFinite(v));
  const estimate = round(median(finite));
  if (finite.length <= 1) {
    return {
      estimate: finite.length === 0 ? 0 : estimate,
      lo: estimate || 0,
      hi: estimate || 0,
      n: finite.length,
    };
  }
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const random = mulberry32(options.seed ?? 0x5eed);
  const medians = new Float64Array(resamples);
  const sample = new Float64Array(finite.length);
  for (let r = 0; r < resamples; r++) medians[r] = resampledMedian(finite, random, sample);
  medians.sort();
  const tail = (1 - confidence) / 2;
  return {
    estimate,
    lo: round(quantileOfSorted(medians, tail)),
    hi: round(quantileOfSorted(medians, 1 - tail)),
    n: finite.length,
  };
}

/** Six significant decimals: enough for µs in ms and for fractions, short in JSON. */
function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
