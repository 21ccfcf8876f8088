import type { Histogram } from 'hdr-histogram-js';
import { compareSameAndCross } from './comparison.ts';
import { mergeCosts } from './recording/cost-meter.ts';
import type { PathName } from './recording/delivery-recorder.ts';
import { encodeHistogram, latencyOf, mergeHistograms } from './recording/histogram.ts';
import {
  type Comparison,
  type Cost,
  medianInterval,
  mergeDeliveryAccounts,
  mergeHandoverStats,
  type Repetition,
  type Variant,
} from './results/index.ts';
import type { SingleRun, VariantRun } from './run-variant.ts';

/**
 * What is kept of one repetition of one variant once it has run: its figures and the histograms
 * that merging and the comparison need. [design] The recorder itself (every expected delivery)
 * is dropped as soon as a repetition ends, so a run of many repetitions of a large crowd holds
 * only histograms.
 */
export interface KeptRepetition {
  index: number;
  result: SingleRun;
  startedAt: Date;
  lag: Histogram | null;
  cost: Cost;
  whole: Histogram;
  byPath: Record<PathName, Histogram>;
  byPhase: { steady: Histogram; handover: Histogram };
  /** Steady-phase deliveries per path: what the federation overhead compares. */
  steady: Record<PathName, Histogram>;
}

export function keepRepetition(index: number, run: VariantRun): KeptRepetition {
  const { recorder } = run;
  return {
    index,
    result: run.result,
    startedAt: run.startedAt,
    lag: run.lag,
    cost: run.cost,
    whole: recorder.histogramOf(),
    byPath: {
      'same-broker': recorder.histogramOf({ path: 'same-broker' }),
      'cross-broker': recorder.histogramOf({ path: 'cross-broker' }),
    },
    byPhase: {
      steady: recorder.histogramOf({ phase: 'steady' }),
      handover: recorder.histogramOf({ phase: 'handover' }),
    },
    steady: {
      'same-broker': recorder.histogramOf({ path: 'same-broker', phase: 'steady' }),
      'cross-broker': recorder.histogramOf({ path: 'cross-broker', phase: 'steady' }),
    },
  };
}

type Counts = Pick<Variant, 'sent' | 'received' | 'lost' | 'duplicates' | 'reordered'>;
const COUNT_FIELDS = ['sent', 'received', 'lost', 'duplicates', 'reordered'] as const;

function sumCounts(parts: readonly Counts[]): Counts {
  const total: Counts = { sent: 0, received: 0, lost: 0, duplicates: 0, reordered: 0 };
  for (const part of parts) for (const field of COUNT_FIELDS) total[field] += part[field];
  return total;
}

function countsOf(figures: Counts): Counts {
  const { sent, received, lost, duplicates, reordered } = figures;
  return { sent, received, lost, duplicates, reordered };
}

function pathFigures(figures: Counts & { latencyMs: Repetition['latencyMs'] }) {
  return { latencyMs: figures.latencyMs, ...countsOf(figures) };
}

function repetitionOf(kept: KeptRepetition): Repetition {
  const { result } = kept;
  return {
    index: kept.index,
    startedAt: kept.startedAt.toISOString(),
    latencyMs: result.latencyMs,
    ...countsOf(result),
    ...(result.byPath === undefined
      ? {}
      : {
          byPath: {
            'same-broker': pathFigures(result.byPath['same-broker']),
            'cross-broker': pathFigures(result.byPath['cross-broker']),
          },
        }),
    publisherLagMs: kept.lag === null ? null : latencyOf(kept.lag),
    cost: kept.cost,
    ...(result.delivery === undefined ? {} : { delivery: result.delivery }),
    ...(result.handoverStats === undefined ? {} : { handoverStats: result.handoverStats }),
    ...(result.clocks === undefined ? {} : { clocks: result.clocks }),
  };
}

function summaryOf(histogram: Histogram, counts: Counts) {
  return { latencyMs: latencyOf(histogram), ...counts, histogram: encodeHistogram(histogram) };
}

/**
 * One variant's repetitions as the results carry it: histograms and counts merged over every
 * repetition, medians with intervals over them, and each repetition's own figures. The timeline,
 * handovers, faults and outages are the first repetition's: they show one run's course in time,
 * which merging would blur. Notes of later repetitions are kept, marked with their repetition.
 */
export function mergeRepetitions(reps: readonly KeptRepetition[]): Variant {
  const first = reps[0];
  if (first === undefined) throw new Error('mergeRepetitions needs at least one repetition');
  const results = reps.map((rep) => rep.result);
  const merge = (pick: (rep: KeptRepetition) => Histogram) => mergeHistograms(reps.map(pick));
  const pathCounts = (path: PathName) =>
    sumCounts(results.map((result) => result.byPath?.[path] ?? countsOf(emptyCounts)));
  const phaseCounts = (phase: 'steady' | 'handover') =>
    sumCounts(results.map((result) => result.byPhase?.[phase] ?? countsOf(emptyCounts)));
  const lags = reps.flatMap((rep) => (rep.lag === null ? [] : [rep.lag]));
  const whole = merge((rep) => rep.whole);
  const notes = reps.flatMap((rep) =>
    (rep.result.notes ?? []).map((note) =>
      reps.length === 1 ? note : `repetition ${rep.index + 1}: ${note}`,
    ),
  );
  const repetitions = reps.map(repetitionOf);
  // Only where every repetition could account for its deliveries: a partial sum would mislead.
  const delivery = mergeDeliveryAccounts(results.map((result) => result.delivery));
  const handoverStats = mergeHandoverStats(results.map((result) => result.handoverStats));
  return {
    name: first.result.name,
    system: first.result.system,
    ...(first.result.tls === true ? { tls: true as const } : {}),
    ...summaryOf(whole, sumCounts(results)),
    byPath: {
      'same-broker': summaryOf(
        merge((rep) => rep.byPath['same-broker']),
        pathCounts('same-broker'),
      ),
      'cross-broker': summaryOf(
        merge((rep) => rep.byPath['cross-broker']),
        pathCounts('cross-broker'),
      ),
    },
    byPhase: {
      steady: summaryOf(
        merge((rep) => rep.byPhase.steady),
        phaseCounts('steady'),
      ),
      handover: summaryOf(
        merge((rep) => rep.byPhase.handover),
        phaseCounts('handover'),
      ),
    },
    timeline: first.result.timeline,
    handovers: first.result.handovers,
    ...(first.result.faults === undefined ? {} : { faults: first.result.faults }),
    ...(first.result.outages === undefined ? {} : { outages: first.result.outages }),
    ...(notes.length > 0 ? { notes } : {}),
    repetitions,
    intervals: {
      p50Ms: medianInterval(repetitions.map((rep) => rep.latencyMs.p50)),
      p99Ms: medianInterval(repetitions.map((rep) => rep.latencyMs.p99)),
    },
    publisherLagMs: lags.length === 0 ? null : latencyOf(mergeHistograms(lags)),
    cost: mergeCosts(reps.map((rep) => rep.cost)),
    ...(delivery === undefined ? {} : { delivery }),
    ...(handoverStats === undefined ? {} : { handoverStats }),
  };
}

const emptyCounts: Counts = { sent: 0, received: 0, lost: 0, duplicates: 0, reordered: 0 };

/**
 * The federation overhead over repetitions: for each repetition, the steady same-broker and
 * cross-broker deliveries of the compared variants, merged, give one overhead (comparison.ts);
 * the headline is the median over repetitions, with a 95 % interval. [design] Overheads are
 * paired within a repetition, whose variants ran one right after the other, so slow drift of the
 * machine cancels in each ratio instead of widening the interval. Null when no repetition has
 * both paths.
 */
export function compareRepetitions(
  byRepetition: readonly (readonly KeptRepetition[])[],
): Comparison | null {
  const perRepetition = byRepetition.flatMap((compared) => {
    const same = mergeHistograms(compared.map((rep) => rep.steady['same-broker']));
    const cross = mergeHistograms(compared.map((rep) => rep.steady['cross-broker']));
    const one = compareSameAndCross(same, cross);
    return one === null ? [] : [one];
  });
  if (perRepetition.length === 0) return null;
  const interval = (key: keyof (typeof perRepetition)[number]) =>
    medianInterval(perRepetition.map((rep) => rep[key]));
  const intervals = {
    overheadP50: interval('overheadP50'),
    overheadP99: interval('overheadP99'),
    sameBrokerP50Ms: interval('sameBrokerP50Ms'),
    crossBrokerP50Ms: interval('crossBrokerP50Ms'),
    sameBrokerP99Ms: interval('sameBrokerP99Ms'),
    crossBrokerP99Ms: interval('crossBrokerP99Ms'),
  };
  return {
    paths: ['same-broker', 'cross-broker'],
    sameBrokerP50Ms: intervals.sameBrokerP50Ms.estimate,
    crossBrokerP50Ms: intervals.crossBrokerP50Ms.estimate,
    sameBrokerP99Ms: intervals.sameBrokerP99Ms.estimate,
    crossBrokerP99Ms: intervals.crossBrokerP99Ms.estimate,
    overheadP50: intervals.overheadP50.estimate,
    overheadP99: intervals.overheadP99.estimate,
    intervals,
    perRepetition,
  };
}
