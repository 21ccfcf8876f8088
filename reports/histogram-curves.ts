import { decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { ReportError } from './report-error.ts';

/** A point of a chart series. */
export interface Point {
  x: number;
  y: number;
}

/** Histograms hold delays in µs (docs/results.md); charts show ms. */
const US_PER_MS = 1000;
/** Points per decade of the percentile axis 1/(1 − p). */
const POINTS_PER_DECADE = 24;
/** The axis ends at 99.999 %: beyond it a run of this size has no information. */
const MAX_DECADES = 5;

/** Decodes a variant's compressed base64 HdrHistogram; `label` names it in an error. */
export function decodeHistogram(encoded: string, label: string): Histogram {
  try {
    return decodeFromCompressedBase64(encoded, 32, false);
  } catch (error) {
    throw new ReportError(
      'HISTOGRAM_INVALID',
      `${label}: histogram is not a compressed base64 HdrHistogram (${(error as Error).message})`,
      { cause: error },
    );
  }
}

/**
 * The percentile distribution on a log percentile axis: x = 1/(1 − p) (2 is 50 %, 100 is 99 %,
 * 10 000 is 99.99 %), y = delay in ms. The axis stops at the decade the sample count still
 * resolves (n samples reach 1/(1 − p) = n), so a run of 1 000 messages stops at 99.9 %.
 */
export function percentileCurve(histogram: Histogram): Point[] {
  const total = histogram.totalCount;
  if (total === 0) return [];
  const decades = Math.min(MAX_DECADES, Math.max(1, Math.floor(Math.log10(total))));
  const points: Point[] = [];
  for (let i = 0; i <= decades * POINTS_PER_DECADE; i++) {
    const x = 10 ** (i / POINTS_PER_DECADE);
    const percentile = 100 * (1 - 1 / x);
    points.push({ x, y: histogram.getValueAtPercentile(percentile) / US_PER_MS });
  }
  return points;
}

/**
 * The cumulative distribution: x = delay in ms, y = fraction of messages at or below it (0…1).
 * Read from the histogram at every percent and, in the tail, at finer steps.
 */
export function cdfCurve(histogram: Histogram): Point[] {
  if (histogram.totalCount === 0) return [];
  const percentiles: number[] = [];
  for (let p = 0; p <= 99; p++) percentiles.push(p);
  percentiles.push(99.5, 99.9, 99.95, 99.99, 100);
  const points: Point[] = [];
  for (const percentile of percentiles) {
    const x = histogram.getValueAtPercentile(percentile) / US_PER_MS;
    const y = percentile / 100;
    // A flat stretch adds nothing but points: keep the highest fraction at each delay (but keep
    // the first point at 0, where the curve starts).
    const last = points.at(-1);
    if (last !== undefined && points.length > 1 && last.x === x) last.y = y;
    else points.push({ x, y });
  }
  return points;
}
