import type { Histogram } from 'hdr-histogram-js';
import type { Latency } from './results-schema.ts';

const ms = (us: number) => Math.round(us) / 1000;

/**
 * The figures the results show of a delay histogram recorded in µs, in ms; all 0 for an empty
 * one. Here rather than with the recorder, so reports and fixtures read histograms the same way
 * the harness wrote them.
 */
export function latencyOf(histogram: Histogram): Latency {
  if (histogram.totalCount === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    p999: ms(histogram.getValueAtPercentile(99.9)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
  };
}
