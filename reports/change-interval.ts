import { median, mulberry32, quantileOfSorted, resampledMedian } from '../harness/results/index.ts';

/**
 * How much a figure changed from a baseline's repetitions to a candidate's, with a confidence
 * interval. [design] The estimate is the change of the medians: relative, (candidate − baseline)
 * / baseline, for delays and costs; a plain difference for overheads (percentage points). The
 * interval is a percentile bootstrap of that same statistic, as the results document draws its own
 * intervals (harness/results/statistics.ts): resample each side's repetitions with replacement,
 * independently, take the change of the two resampled medians, many times, and read the 2.5th and
 * 97.5th percentiles. With five repetitions a side the medians can only take values that were
 * seen, so the interval is coarse, and honest about it. Seeded: one pair of files, one interval.
 */
export type ChangeKind = 'relative' | 'difference';

export interface ChangeInterval {
  /** The change of the medians; null for a relative change from a baseline median of 0. */
  estimate: number | null;
  /** Null with fewer than two repetitions on either side: one value says nothing of noise. */
  lo: number | null;
  hi: number | null;
  confidence: number;
}

export interface ChangeIntervalOptions {
  confidence?: number;
  resamples?: number;
  seed?: number;
}

const DEFAULT_RESAMPLES = 10_000;

function change(kind: ChangeKind, baseline: number, candidate: number): number | null {
  if (kind === 'difference') return candidate - baseline;
  if (baseline === 0) return candidate === 0 ? 0 : null;
  return (candidate - baseline) / baseline;
}

/** The change of the medians of `candidate` against `baseline`, with its bootstrap interval. */
export function changeInterval(
  kind: ChangeKind,
  baseline: readonly number[],
  candidate: readonly number[],
  options: ChangeIntervalOptions = {},
): ChangeInterval {
  const confidence = options.confidence ?? 0.95;
  const base = baseline.filter(Number.isFinite);
  const cand = candidate.filter(Number.isFinite);
  const estimate =
    base.length === 0 || cand.length === 0 ? null : change(kind, median(base), median(cand));
  if (base.length < 2 || cand.length < 2) return { estimate, lo: null, hi: null, confidence };
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const random = mulberry32(options.seed ?? 0x5eed);
  const baseSample = new Float64Array(base.length);
  const candSample = new Float64Array(cand.length);
  const changes: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const b = resampledMedian(base, random, baseSample);
    const c = resampledMedian(cand, random, candSample);
    const value = change(kind, b, c);
    if (value !== null) changes.push(value);
  }
  if (changes.length === 0) return { estimate, lo: null, hi: null, confidence };
  const sorted = Float64Array.from(changes).sort();
  const tail = (1 - confidence) / 2;
  return {
    estimate,
    lo: quantileOfSorted(sorted, tail),
    hi: quantileOfSorted(sorted, 1 - tail),
    confidence,
  };
}
