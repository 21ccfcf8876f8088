import type { Histogram } from 'hdr-histogram-js';
import { latencyOf } from './recording/histogram.ts';

/** One repetition's same-broker against cross-broker figures (repetitions.ts takes medians). */
export interface SameAndCross {
  sameBrokerP50Ms: number;
  crossBrokerP50Ms: number;
  sameBrokerP99Ms: number;
  crossBrokerP99Ms: number;
  /** (cross − same) / same; 0.5 means 50 %. */
  overheadP50: number;
  overheadP99: number;
}

/**
 * The federation overhead: how much slower the cross-broker path is than the same-broker path,
 * (cross − same) / same, at p50 and p99. [design] Only steady-phase deliveries count: a handover
 * measures mobility, not the extra hop. Null when either path has no deliveries (nothing to
 * compare) or the same-broker delay rounds to 0.
 */
export function compareSameAndCross(same: Histogram, cross: Histogram): SameAndCross | null {
  if (same.totalCount === 0 || cross.totalCount === 0) return null;
  const s = latencyOf(same);
  const c = latencyOf(cross);
  if (s.p50 <= 0 || s.p99 <= 0) return null;
  const fraction = (value: number) => Math.round(value * 10_000) / 10_000;
  return {
    sameBrokerP50Ms: s.p50,
    crossBrokerP50Ms: c.p50,
    sameBrokerP99Ms: s.p99,
    crossBrokerP99Ms: c.p99,
    overheadP50: fraction((c.p50 - s.p50) / s.p50),
    overheadP99: fraction((c.p99 - s.p99) / s.p99),
  };
}
