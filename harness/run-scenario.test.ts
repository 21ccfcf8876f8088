import { describe, expect, it } from 'vitest';
import { resultsSchema } from './results/index.ts';
import { runScenario } from './run-scenario.ts';
import { defineScenario } from './scenario.ts';

/** Two brokers, one publisher, one subscriber on either: a moment per variant. */
const tiny = defineScenario({
  name: 'tiny-repeat',
  brokers: ['a', 'b'],
  topology: 'in-process',
  clients: {
    publishers: [{ name: 'pub', broker: 'a', rate: 100, topics: ['tiny/t'] }],
    subscribers: [{ name: 'sub', broker: 'a', filters: ['tiny/#'] }],
  },
  durationMs: 800,
  warmupMs: 200,
  drainMs: 200,
  repeat: 2,
  variants: [
    { name: 'same', placement: { sub: 'a' } },
    { name: 'cross', placement: { sub: 'b' } },
  ],
  paper: { overhead: null, note: 'a test' },
});

// Each variant run starts and stops a topology: seconds apiece on a loaded 2-core machine.
describe('a run with repetitions', { timeout: 60_000 }, () => {
  it('keeps every repetition of every variant, interleaved, and gives intervals over them', async () => {
    const progress: string[] = [];
    const { results } = await runScenario(tiny, {
      onProgress: (p) => {
        if (p.phase === 'starting')
          progress.push(`${p.repetition}:${p.variant}:${p.index}/${p.of}`);
      },
    });
    expect(resultsSchema.safeParse(results).success).toBe(true);
    expect(results.repetitions).toBe(2);
    expect(results.parameters.repeat).toBe(2);
    // Rotated each repetition: same cross, then cross same.
    expect(progress).toEqual(['0:same:0/4', '0:cross:1/4', '1:cross:2/4', '1:same:3/4']);
    for (const variant of results.variants) {
      expect(variant.repetitions.map((rep) => rep.index)).toEqual([0, 1]);
      // 100 msg/s for the 0.6 s after warm-up, twice over.
      for (const rep of variant.repetitions) expect(rep.sent).toBe(60);
      expect(variant.sent).toBe(120);
      expect(variant.intervals.p50Ms.n).toBe(2);
      expect(variant.publisherLagMs).not.toBeNull();
      expect(variant.cost.delivered).toBe(variant.received);
      // In-process, every service shares the harness process: one CPU figure for all of it.
      expect(Object.values(variant.cost.cpuUsPerMessage)).toEqual([expect.any(Number)]);
      expect(Object.values(variant.cost.cpuUsPerMessage)[0]).toBeGreaterThan(0);
    }
    const [same, cross] = results.variants;
    // In repetition 1 the cross variant ran first.
    expect(Date.parse(cross!.repetitions[1]!.startedAt)).toBeLessThan(
      Date.parse(same!.repetitions[1]!.startedAt),
    );
    // Only the cross-broker variant sends anything over a peer link.
    expect(same!.cost.linkBytesPerMessage).toBe(0);
    expect(cross!.cost.linkBytesPerMessage).toBeGreaterThan(64);
    expect(results.floor!.loopbackMs.p50).toBeGreaterThan(0);
    expect(results.noise).not.toBeNull();
    expect(results.comparison!.perRepetition).toHaveLength(2);
    expect(results.comparison!.intervals.overheadP50.n).toBe(2);
  });

  it('runs once where neither the scenario nor the caller asks for more', async () => {
    const once = defineScenario({ ...tiny, repeat: undefined, variants: [tiny.variants[0]!] });
    const { results } = await runScenario(once);
    expect(results.repetitions).toBe(1);
    expect(results.variants[0]!.intervals.p99Ms.n).toBe(1);
  });
});
