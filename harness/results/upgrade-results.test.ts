import { describe, expect, it } from 'vitest';
import { durationHistogram, handoverDistribution, mergeHandoverStats } from './handover-stats.ts';
import { RESULTS_SCHEMA, resultsSchema } from './results-schema.ts';
import { upgradeResults } from './upgrade-results.ts';

const latency = { p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1.5 };
const counts = { sent: 10, received: 9, lost: 1, duplicates: 0, reordered: 0 };

/** A minimal document as the first release wrote it. */
const v1 = {
  schema: 'mqfed.results/v1',
  scenario: 'paper-1',
  parameters: {},
  seed: 1,
  gitCommit: null,
  startedAt: '2026-11-25T10:00:00.000Z',
  durationMs: 1000,
  environment: {
    node: 'v24.21.0',
    platform: 'linux',
    arch: 'x64',
    cpus: 2,
    cpuModel: 'x',
    memoryBytes: 1,
    topology: 'processes',
    impairment: 'none',
    clock: 'one clock',
  },
  variants: [
    {
      name: 'cross-broker qos0',
      system: 'mqfed',
      latencyMs: latency,
      ...counts,
      histogram: 'HISTFAA',
      byPath: {
        'same-broker': { latencyMs: latency, ...counts, histogram: 'HISTFAA' },
        'cross-broker': { latencyMs: latency, ...counts, histogram: 'HISTFAA' },
      },
      timeline: [],
      handovers: [],
    },
  ],
  services: [],
  comparison: { sameBrokerP50Ms: 1, crossBrokerP50Ms: 1.5, overheadP50: 0.5, overheadP99: 0.4 },
  paper: { overhead: 0.5, note: 'about 50 %' },
};

describe('a v1 results document', () => {
  it('reads as a v2 run of one repetition, with nothing claimed that was not measured', () => {
    const results = resultsSchema.parse(upgradeResults(v1));
    expect(results.schema).toBe(RESULTS_SCHEMA);
    expect(results.repetitions).toBe(1);
    expect(results.floor).toBeNull();
    expect(results.noise).toBeNull();
    const variant = results.variants[0]!;
    expect(variant.repetitions).toHaveLength(1);
    expect(variant.publisherLagMs).toBeNull();
    expect(variant.cost.linkBytesPerMessage).toBeNull();
    expect(variant.intervals.p99Ms).toEqual({ estimate: 3, lo: 3, hi: 3, n: 1 });
    expect(results.comparison!.intervals.overheadP50.n).toBe(1);
    expect(results.comparison!.perRepetition).toEqual([
      { sameBrokerP50Ms: 1, crossBrokerP50Ms: 1.5, overheadP50: 0.5, overheadP99: 0.4 },
    ]);
  });

  it('that is broken still fails on the field that is broken', () => {
    const broken = { ...v1, variants: [{ ...v1.variants[0], latencyMs: { p50: 'slow' } }] };
    const parsed = resultsSchema.safeParse(upgradeResults(broken));
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path.slice(0, 2)).toEqual(['variants', 0]);
  });

  it('of another version is left for the schema to refuse', () => {
    const other = { ...v1, schema: 'mqfed.results/v9' };
    expect(upgradeResults(other)).toBe(other);
    expect(resultsSchema.safeParse(other).success).toBe(false);
  });
});

describe('handover figures in a v2 document', () => {
  const v2 = resultsSchema.parse(upgradeResults(v1));
  const empty = handoverDistribution(durationHistogram());
  const stats = {
    handovers: 3,
    mobileClients: 2,
    persistentClients: 2,
    sessionPresentMisses: 1,
    owed: 30,
    lost: 2,
    missedWithoutSession: 0,
    duplicates: { flagged: 1, unflagged: 0 },
    transferMs: empty,
    gapMs: empty,
  };

  it('are optional: a v2 document made before them reads as before, without them', () => {
    expect(v2.variants[0]!.handoverStats).toBeUndefined();
    expect(v2.variants[0]!.repetitions[0]!.handoverStats).toBeUndefined();
    const handovers = [{ tMs: 1, client: 'm-0', from: 'a', to: 'b', gapMs: 4 }];
    const old = { ...v2, variants: [{ ...v2.variants[0]!, handovers }] };
    expect(resultsSchema.parse(old).variants[0]!.handovers[0]!.transferMs).toBeUndefined();
  });

  it('are kept per variant and per repetition when present, and checked', () => {
    const variant = v2.variants[0]!;
    const withStats = {
      ...v2,
      variants: [
        {
          ...variant,
          handoverStats: stats,
          repetitions: [{ ...variant.repetitions[0]!, handoverStats: stats }],
          handovers: [
            { tMs: 1, client: 'm-0', from: 'a', to: 'b', transferMs: 2, sessionPresent: false },
          ],
        },
      ],
    };
    const parsed = resultsSchema.parse(withStats);
    expect(parsed.variants[0]!.handoverStats).toEqual(stats);
    expect(parsed.variants[0]!.repetitions[0]!.handoverStats).toEqual(stats);
    const broken = {
      ...withStats,
      variants: [{ ...withStats.variants[0]!, handoverStats: { ...stats, lost: -1 } }],
    };
    const failed = resultsSchema.safeParse(broken);
    expect(failed.success).toBe(false);
    expect(failed.error!.issues[0]!.path).toEqual(['variants', 0, 'handoverStats', 'lost']);
  });

  it('merge over repetitions: events summed, clients counted once, distributions merged', () => {
    const one = durationHistogram();
    one.recordValue(10_000);
    const two = durationHistogram();
    two.recordValue(30_000);
    const merged = mergeHandoverStats([
      { ...stats, transferMs: handoverDistribution(one) },
      undefined,
      { ...stats, transferMs: handoverDistribution(two) },
    ])!;
    expect(merged).toMatchObject({
      handovers: 6,
      mobileClients: 2,
      lost: 4,
      sessionPresentMisses: 2,
    });
    expect(merged.duplicates).toEqual({ flagged: 2, unflagged: 0 });
    // HDR keeps 3 significant digits: 10 ms reads as 10.007.
    expect(merged.transferMs.count).toBe(2);
    expect(merged.transferMs.p50).toBeCloseTo(10, 1);
    expect(merged.transferMs.max).toBeCloseTo(30, 1);
    expect(mergeHandoverStats([undefined])).toBeUndefined();
  });
});
