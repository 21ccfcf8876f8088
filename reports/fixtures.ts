import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import {
  type DeliveryAccount,
  durationHistogram,
  type HandoverStats,
  handoverDistribution,
  latencyOf,
  medianInterval,
  mergeDeliveryAccounts,
  mergeHandoverStats,
  mulberry32,
  RESULTS_SCHEMA,
  RESULTS_SCHEMA_V1,
  type Repetition,
  type Results,
  type Variant,
} from '../harness/results/index.ts';

/**
 * A valid, deterministic `mqfed.results/v2` document for tests of the report tools: real
 * hdr-histogram-js histograms of known delays, a per-second timeline, handovers, service
 * samples, and as many repetitions as asked, each a little off the others (run-to-run noise).
 * Same options, same document, byte for byte.
 */
export interface FixtureOptions {
  scenario?: string;
  /** Multiplies every cross-broker delay: 1.5 gives about 50 % overhead. */
  crossFactor?: number;
  /** Multiplies every delay of every variant (a slower machine). */
  scale?: number;
  /** Delays recorded per variant. */
  samples?: number;
  seed?: number;
  gitCommit?: string | null;
  /** Adds faults to the cross-broker variant: b2 killed and restarted, b1 stopped for good. */
  faults?: boolean;
  /** Repetitions of each variant (default 1). */
  repetitions?: number;
  /** How far one repetition's delays stray from another's: 0.03 is ±3 % (default). */
  repetitionNoise?: number;
  /**
   * Adds delivery accounting to every variant and repetition: one QoS 0 row, and on the
   * cross-broker variant a QoS 1 row with losses, duplicates and unacknowledged arrivals.
   */
  delivery?: boolean;
  /**
   * Adds handover figures to both variants and their repetitions: the same-broker one as the
   * persistent variant (nothing lost), the cross-broker one as the clean baseline with losses,
   * duplicates and session present misses.
   */
  handovers?: boolean;
}

/**
 * Handover figures of repetition `r` (`handovers: true`): 40 moves with transfer times around
 * 12 ms and gaps around 3 ms, longer for clean clients, which subscribe again after each move.
 */
function handoverStatsOf(next: () => number, r: number, clean: boolean): HandoverStats {
  const transfer = durationHistogram();
  const gap = durationHistogram();
  for (let i = 0; i < 40; i++) {
    transfer.recordValue(Math.round((8 + 8 * next()) * 1000));
    if (i % 10 !== 9) gap.recordValue(Math.round((clean ? 20 : 2) * (1 + next()) * 1000));
  }
  return {
    handovers: 40,
    mobileClients: 10,
    persistentClients: clean ? 0 : 10,
    sessionPresentMisses: clean ? 0 : r,
    owed: 4_000 - (clean ? 300 : 0),
    lost: clean ? 12 + r : 0,
    missedWithoutSession: clean ? 300 : 0,
    duplicates: { flagged: clean ? 0 : 5, unflagged: clean ? 2 : 0 },
    transferMs: handoverDistribution(transfer),
    gapMs: handoverDistribution(gap),
  };
}

/** A seeded generator, so fixtures need no global randomness. */
const random = mulberry32;

const RUN_SECONDS = 30;
const RATE = 100;

/** Records `samples` delays (µs): a floor plus an exponential body and a rare slow tail. */
const ms = (us: number) => us / 1000;

const emptyPath = {
  latencyMs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 },
  sent: 0,
  received: 0,
  lost: 0,
  duplicates: 0,
  reordered: 0,
};

function recordVariant(
  name: string,
  system: Variant['system'],
  baseUs: number,
  samples: number,
  next: () => number,
  handovers: Variant['handovers'],
  repetitions = 1,
  repetitionNoise = 0.03,
): Variant {
  const histogram = build({ numberOfSignificantValueDigits: 3 });
  const lost = handovers.length;
  const reps: Repetition[] = [];
  for (let r = 0; r < repetitions; r++) {
    const one = build({ numberOfSignificantValueDigits: 3 });
    const factor = repetitions === 1 ? 1 : 1 + repetitionNoise * (2 * next() - 1);
    for (let i = 0; i < samples; i++) {
      const body = -Math.log(1 - next()) * baseUs * factor * 0.25;
      const tail = next() < 0.005 ? next() * baseUs * 20 : 0;
      one.recordValue(Math.round(baseUs * factor + body + tail));
    }
    histogram.add(one);
    const latencyMs = latencyOf(one);
    const path = name.startsWith('cross') ? 'cross-broker' : 'same-broker';
    const counts = {
      sent: RUN_SECONDS * RATE,
      received: RUN_SECONDS * RATE - lost,
      lost,
      duplicates: 0,
      reordered: 0,
    };
    reps.push({
      index: r,
      startedAt: new Date(Date.UTC(2026, 10, 25, 10, r)).toISOString(),
      latencyMs,
      ...counts,
      // The harness reports both paths; the one this variant does not use has nothing on it.
      byPath: {
        'same-broker': path === 'same-broker' ? { latencyMs, ...counts } : emptyPath,
        'cross-broker': path === 'cross-broker' ? { latencyMs, ...counts } : emptyPath,
      },
      publisherLagMs: { p50: 0.004, p90: 0.006, p99: 0.012, p999: 0.03, max: 0.2, mean: 0.005 },
      cost: {
        delivered: counts.received,
        cpuUsPerMessage: { 'broker-b1': 40 * factor, 'broker-b2': 35 * factor },
        linkBytesPerMessage: path === 'cross-broker' ? 96 : null,
      },
    });
    one.destroy();
  }
  const timeline = Array.from({ length: RUN_SECONDS }, (_, s) => {
    const wobble = 1 + 0.1 * Math.sin(s / 3);
    const handoverHere = handovers.some((h) => Math.floor(h.tMs / 1000) === s);
    return {
      tMs: s * 1000,
      sent: RATE,
      received: handoverHere ? RATE - 1 : RATE,
      p50Ms: ms(baseUs * 1.2 * wobble),
      p99Ms: ms(baseUs * (handoverHere ? 6 : 2.5) * wobble),
    };
  });
  const variant: Variant = {
    name,
    system,
    latencyMs: latencyOf(histogram),
    sent: RUN_SECONDS * RATE * repetitions,
    received: (RUN_SECONDS * RATE - lost) * repetitions,
    lost: lost * repetitions,
    duplicates: 0,
    reordered: 0,
    histogram: encodeIntoCompressedBase64(histogram),
    timeline,
    handovers,
    repetitions: reps,
    intervals: {
      p50Ms: medianInterval(reps.map((rep) => rep.latencyMs.p50)),
      p99Ms: medianInterval(reps.map((rep) => rep.latencyMs.p99)),
    },
    publisherLagMs: reps[0]!.publisherLagMs,
    cost: { ...reps[0]!.cost, delivered: (RUN_SECONDS * RATE - lost) * repetitions },
  };
  histogram.destroy();
  return variant;
}

/** Delivery rows of repetition `r` (`delivery: true`): figures that tell the columns apart. */
function deliveryRows(r: number, withQos1: boolean): DeliveryAccount[] {
  const sent = RUN_SECONDS * RATE;
  const rows: DeliveryAccount[] = [
    {
      qos: 0,
      sent,
      acknowledged: null,
      expected: sent,
      delivered: sent - 7 - r,
      lost: 7 + r,
      duplicated: 0,
      deliveredUnacknowledged: 0,
    },
  ];
  if (withQos1) {
    rows.push({
      qos: 1,
      sent,
      acknowledged: sent - 4,
      expected: 2 * (sent - 4),
      delivered: 2 * (sent - 4) - r,
      lost: r,
      duplicated: 5 + r,
      deliveredUnacknowledged: 2,
    });
  }
  return rows;
}

/**
 * The faults of `faults: true` and the outages they made, with figures chosen to be told apart
 * in a test: b2 out 12–22.85 s and back after 1.24 s; b1 never back; one fault that failed.
 */
export const FIXTURE_FAULTS: Pick<Variant, 'faults' | 'outages'> = {
  faults: [
    { tMs: 12_000, broker: 'b2', action: 'kill', tookMs: 3 },
    { tMs: 22_000, broker: 'b2', action: 'restart', tookMs: 850 },
    { tMs: 25_000, broker: 'b2', action: 'pause', tookMs: 2, error: 'no such process' },
    { tMs: 27_000, broker: 'b1', action: 'stop', tookMs: 120 },
  ],
  outages: [
    {
      broker: 'b2',
      down: 'kill',
      up: 'restart',
      downAtMs: 12_000,
      upAtMs: 22_850,
      recoveryMs: 1_240,
      whileDown: { sent: 1_085, received: 12, lost: 1_073 },
      surviving: { sent: 2_418, received: 2_411, lost: 7 },
    },
    {
      broker: 'b1',
      down: 'stop',
      up: null,
      downAtMs: 27_000,
      upAtMs: null,
      recoveryMs: null,
      whileDown: { sent: 300, received: 0, lost: 300 },
      surviving: { sent: 0, received: 0, lost: 0 },
    },
  ],
};

export function syntheticResults(options: FixtureOptions = {}): Results {
  const {
    scenario = 'paper-1',
    crossFactor = 1.5,
    scale = 1,
    samples = 20_000,
    seed = 42,
    gitCommit = '0123456789abcdef0123456789abcdef01234567',
    faults = false,
    repetitions = 1,
    repetitionNoise = 0.03,
    delivery = false,
    handovers = false,
  } = options;
  const next = random(seed);
  const same = recordVariant(
    'same-broker qos0',
    'mqfed',
    800 * scale,
    samples,
    next,
    [],
    repetitions,
    repetitionNoise,
  );
  const cross = recordVariant(
    'cross-broker qos0',
    'mqfed',
    800 * scale * crossFactor,
    samples,
    next,
    [
      { tMs: 10_000, client: 'mobile-1', from: 'b1', to: 'b2', gapMs: 42.5 },
      { tMs: 20_000, client: 'mobile-1', from: 'b2', to: 'b1' },
    ],
    repetitions,
    repetitionNoise,
  );
  if (faults) Object.assign(cross, structuredClone(FIXTURE_FAULTS));
  if (delivery) {
    for (const variant of [same, cross]) {
      const withQos1 = variant === cross;
      for (const rep of variant.repetitions) rep.delivery = deliveryRows(rep.index, withQos1);
      variant.delivery = mergeDeliveryAccounts(variant.repetitions.map((rep) => rep.delivery));
    }
  }
  if (handovers) {
    for (const variant of [same, cross]) {
      const clean = variant === cross;
      for (const rep of variant.repetitions) {
        rep.handoverStats = handoverStatsOf(next, rep.index, clean);
      }
      variant.handoverStats = mergeHandoverStats(
        variant.repetitions.map((rep) => rep.handoverStats),
      );
    }
  }
  const services = ['auth', 'discovery', 'broker-b1', 'broker-b2'].map((name, k) => ({
    name,
    samples: Array.from({ length: RUN_SECONDS }, (_, s) => ({
      tMs: s * 1000,
      cpuPercent: (k + 1) * 5 + 2 * Math.sin(s / 4 + k),
      rssBytes: (60 + 10 * k) * 1024 * 1024 + s * 64 * 1024,
    })),
  }));
  const overhead = (a: number, b: number) => (b - a) / a;
  const perRepetition = same.repetitions.map((rep, r) => {
    const c = cross.repetitions[r]!.latencyMs;
    return {
      sameBrokerP50Ms: rep.latencyMs.p50,
      crossBrokerP50Ms: c.p50,
      sameBrokerP99Ms: rep.latencyMs.p99,
      crossBrokerP99Ms: c.p99,
      overheadP50: overhead(rep.latencyMs.p50, c.p50),
      overheadP99: overhead(rep.latencyMs.p99, c.p99),
    };
  });
  const over = (key: keyof (typeof perRepetition)[number]) =>
    medianInterval(perRepetition.map((rep) => rep[key]));
  return {
    schema: RESULTS_SCHEMA,
    repetitions,
    scenario,
    description:
      'Synthetic fixture: one publisher, one subscriber, same broker versus different brokers',
    parameters: { rate: RATE, payloadBytes: 64, qos: 0, durationS: RUN_SECONDS, warmupS: 2 },
    seed,
    gitCommit,
    startedAt: '2026-11-25T10:00:00.000Z',
    durationMs: RUN_SECONDS * 1000,
    environment: {
      node: 'v24.21.0',
      platform: 'linux',
      arch: 'x64',
      cpus: 2,
      cpuModel: 'Synthetic CPU @ 2.0GHz',
      memoryBytes: 24 * 1024 ** 3,
      topology: 'in-process',
      impairment: 'none',
      clock: 'one process, performance.now()',
    },
    variants: [same, cross],
    floor: {
      schedulerLagMs: { p50: 0.003, p90: 0.005, p99: 0.01, p999: 0.02, max: 0.1, mean: 0.004 },
      recordCostUs: 0.8,
      loopbackMs: { p50: 0.03, p90: 0.04, p99: 0.06, p999: 0.1, max: 0.3, mean: 0.035 },
    },
    noise: {
      loadAverageBefore: 0.2,
      loadAverageMax: 1.1,
      stealPercent: 0,
      otherCpuPercent: 1.5,
      pinning: null,
      warnings: [],
    },
    services,
    comparison: {
      paths: ['same-broker', 'cross-broker'],
      sameBrokerP50Ms: over('sameBrokerP50Ms').estimate,
      crossBrokerP50Ms: over('crossBrokerP50Ms').estimate,
      sameBrokerP99Ms: over('sameBrokerP99Ms').estimate,
      crossBrokerP99Ms: over('crossBrokerP99Ms').estimate,
      overheadP50: over('overheadP50').estimate,
      overheadP99: over('overheadP99').estimate,
      intervals: {
        overheadP50: over('overheadP50'),
        overheadP99: over('overheadP99'),
        sameBrokerP50Ms: over('sameBrokerP50Ms'),
        crossBrokerP50Ms: over('crossBrokerP50Ms'),
        sameBrokerP99Ms: over('sameBrokerP99Ms'),
        crossBrokerP99Ms: over('crossBrokerP99Ms'),
      },
      perRepetition,
    },
    paper: { overhead: 0.5, note: 'about 50 % in the single-machine synthetic scenarios [paper]' },
  };
}

/**
 * The same run as an `mqfed.results/v1` document (an old CI baseline): no repetitions,
 * intervals, floor, noise, publisher lag or cost. Readers upgrade it to a run of one repetition.
 */
export function v1Document(results: Results): Record<string, unknown> {
  const { repetitions: _r, floor: _f, noise: _n, comparison, ...rest } = structuredClone(results);
  return {
    ...rest,
    schema: RESULTS_SCHEMA_V1,
    variants: results.variants.map((variant) => {
      const {
        repetitions: _reps,
        intervals: _i,
        publisherLagMs: _p,
        cost: _c,
        delivery: _d,
        handoverStats: _h,
        ...old
      } = structuredClone(variant);
      return old;
    }),
    comparison:
      comparison === null
        ? null
        : {
            sameBrokerP50Ms: comparison.sameBrokerP50Ms,
            crossBrokerP50Ms: comparison.crossBrokerP50Ms,
            overheadP50: comparison.overheadP50,
            overheadP99: comparison.overheadP99,
          },
  };
}
