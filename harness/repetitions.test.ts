import type { Histogram } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { delayHistogram, encodeHistogram, latencyOf } from './recording/histogram.ts';
import { compareRepetitions, type KeptRepetition, mergeRepetitions } from './repetitions.ts';
import { variantSchema } from './results/index.ts';
import { repetitionOrder } from './run-scenario.ts';

function histogramOf(delaysUs: readonly number[]): Histogram {
  const histogram = delayHistogram();
  for (const us of delaysUs) histogram.recordValue(us);
  return histogram;
}

const counts = (n: number) => ({ sent: n, received: n, lost: 0, duplicates: 0, reordered: 0 });

/** One repetition of a variant whose same- and cross-broker deliveries took these delays. */
function repetition(
  index: number,
  sameUs: number[],
  crossUs: number[],
  cpuUs = 40,
): KeptRepetition {
  const same = histogramOf(sameUs);
  const cross = histogramOf(crossUs);
  const whole = histogramOf([...sameUs, ...crossUs]);
  const path = (h: Histogram, n: number) => ({
    latencyMs: latencyOf(h),
    ...counts(n),
    histogram: encodeHistogram(h),
  });
  const n = sameUs.length + crossUs.length;
  return {
    index,
    startedAt: new Date(Date.UTC(2026, 11, 1, 0, index)),
    result: {
      name: 'v',
      system: 'mqfed',
      latencyMs: latencyOf(whole),
      ...counts(n),
      histogram: encodeHistogram(whole),
      byPath: {
        'same-broker': path(same, sameUs.length),
        'cross-broker': path(cross, crossUs.length),
      },
      byPhase: { steady: path(whole, n), handover: path(histogramOf([]), 0) },
      timeline: [{ tMs: 1000 * index, sent: n, received: n }],
      handovers: [],
      notes: index === 1 ? ['3 routes were not primed in time'] : [],
    },
    lag: histogramOf([5, 10, 20]),
    cost: { delivered: n, cpuUsPerMessage: { 'broker a': cpuUs }, linkBytesPerMessage: 100 },
    whole,
    byPath: { 'same-broker': same, 'cross-broker': cross },
    byPhase: { steady: whole, handover: histogramOf([]) },
    steady: { 'same-broker': same, 'cross-broker': cross },
  };
}

const repeated = (value: number, times: number) => Array.from({ length: times }, () => value);

describe('repetitions of a variant', () => {
  it('run interleaved, each repetition starting one variant further on', () => {
    expect(repetitionOrder(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(repetitionOrder(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(repetitionOrder(['a', 'b', 'c'], 4)).toEqual(['b', 'c', 'a']);
  });

  it('merge into one valid variant: counts added, histograms merged, each repetition kept', () => {
    const reps = [
      repetition(0, repeated(500, 100), repeated(800, 100)),
      repetition(1, repeated(520, 100), repeated(820, 100)),
      repetition(2, repeated(480, 100), repeated(760, 100)),
    ];
    const variant = variantSchema.parse(mergeRepetitions(reps));
    expect(variant.sent).toBe(600);
    expect(variant.byPath!['cross-broker'].received).toBe(300);
    expect(variant.repetitions.map((rep) => rep.index)).toEqual([0, 1, 2]);
    expect(variant.repetitions[1]!.byPath!['same-broker'].latencyMs.p50).toBeCloseTo(0.52, 2);
    // The interval is over the repetitions' own p50s, whatever the merged histogram says.
    expect(variant.intervals.p50Ms.n).toBe(3);
    expect(variant.intervals.p50Ms.estimate).toBe(variant.repetitions[0]!.latencyMs.p50);
    // Timeline and the like are the first repetition's; notes say which repetition had them.
    expect(variant.timeline).toEqual([{ tMs: 0, sent: 200, received: 200 }]);
    expect(variant.notes).toEqual(['repetition 2: 3 routes were not primed in time']);
    expect(variant.publisherLagMs!.max).toBeCloseTo(0.02, 3);
  });
});

describe('the federation overhead over repetitions', () => {
  it('is the median of each repetition’s own overhead, with an interval around it', () => {
    const comparison = compareRepetitions([
      [repetition(0, repeated(500, 50), repeated(750, 50))], // 50 %
      [repetition(1, repeated(400, 50), repeated(640, 50))], // 60 %
      [repetition(2, repeated(600, 50), repeated(840, 50))], // 40 %
    ]);
    expect(comparison).not.toBeNull();
    expect(comparison!.paths).toEqual(['same-broker', 'cross-broker']);
    expect(comparison!.perRepetition.map((rep) => Math.round(rep.overheadP50 * 100))).toEqual([
      50, 60, 40,
    ]);
    expect(comparison!.overheadP50).toBeCloseTo(0.5, 2);
    expect(comparison!.intervals.overheadP50.lo).toBeGreaterThanOrEqual(0.39);
    expect(comparison!.intervals.overheadP50.hi).toBeLessThanOrEqual(0.61);
    expect(comparison!.intervals.overheadP50.n).toBe(3);
  });

  it('is null when no repetition delivered on both paths', () => {
    expect(compareRepetitions([[repetition(0, repeated(500, 10), [])]])).toBeNull();
  });
});
