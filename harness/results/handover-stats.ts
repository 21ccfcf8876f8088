import {
  build,
  decodeFromCompressedBase64,
  encodeIntoCompressedBase64,
  type Histogram,
} from 'hdr-histogram-js';
import type { HandoverDistribution, HandoverStats } from './results-schema.ts';

/**
 * Handover figures as the results carry them, and merged over repetitions. [design] Pure
 * functions of the results, beside the schema, so reports and the runner read them alike.
 */

const ms = (us: number) => Math.round(us) / 1000;

/** An empty histogram of durations in µs, as the delay histograms are. */
export function durationHistogram(): Histogram {
  return build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

/** p50, p99 and max (ms) of a histogram in µs, with the histogram encoded. */
export function handoverDistribution(histogram: Histogram): HandoverDistribution {
  const count = histogram.totalCount;
  return {
    count,
    p50: count === 0 ? 0 : ms(histogram.getValueAtPercentile(50)),
    p99: count === 0 ? 0 : ms(histogram.getValueAtPercentile(99)),
    max: count === 0 ? 0 : ms(histogram.maxValue),
    histogram: encodeIntoCompressedBase64(histogram),
  };
}

function mergeDistributions(parts: readonly HandoverDistribution[]): HandoverDistribution {
  const merged = durationHistogram();
  for (const part of parts) merged.add(decodeFromCompressedBase64(part.histogram, 32, false));
  return handoverDistribution(merged);
}

/**
 * A variant's handover figures over its repetitions: counts of events summed, distributions
 * merged.
 * Undefined when no repetition had mobile clients.
 */
export function mergeHandoverStats(
  parts: readonly (HandoverStats | undefined)[],
): HandoverStats | undefined {
  const present = parts.filter((part): part is HandoverStats => part !== undefined);
  if (present.length === 0) return undefined;
  const sum = (pick: (part: HandoverStats) => number) =>
    present.reduce((total, part) => total + pick(part), 0);
  return {
    handovers: sum((p) => p.handovers),
    // The same clients in every repetition: counted once.
    mobileClients: present[0]!.mobileClients,
    persistentClients: present[0]!.persistentClients,
    sessionPresentMisses: sum((p) => p.sessionPresentMisses),
    owed: sum((p) => p.owed),
    lost: sum((p) => p.lost),
    missedWithoutSession: sum((p) => p.missedWithoutSession),
    duplicates: {
      flagged: sum((p) => p.duplicates.flagged),
      unflagged: sum((p) => p.duplicates.unflagged),
    },
    transferMs: mergeDistributions(present.map((p) => p.transferMs)),
    gapMs: mergeDistributions(present.map((p) => p.gapMs)),
  };
}
