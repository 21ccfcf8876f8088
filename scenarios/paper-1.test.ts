import { describe, expect, it } from 'vitest';
import { defineScenario, resultsSchema, runScenario } from '../harness/index.ts';
import paper1 from './paper-1.ts';

describe('paper-1, run in-process for a moment', () => {
  it('measures all six variants, with counts that add up and a cross-broker comparison', async () => {
    // The scenario as declared, but each variant runs 1.2 s of which 0.3 s is warm-up.
    const short = defineScenario({
      ...paper1,
      durationMs: 1_200,
      warmupMs: 300,
      drainMs: 300,
      quick: undefined,
    });
    const { results } = await runScenario(short, { repeat: 1 });

    expect(resultsSchema.safeParse(results).success).toBe(true);
    expect(results.variants.map((v) => v.name)).toEqual([
      'same-broker qos0',
      'cross-broker qos0',
      'same-broker qos1',
      'cross-broker qos1',
      'same-broker qos0 tls',
      'cross-broker qos0 tls',
    ]);
    expect(results.variants.map((v) => v.tls === true)).toEqual([
      false,
      false,
      false,
      false,
      true,
      true,
    ]);
    for (const variant of results.variants) {
      // 100 msg/s for the 0.9 s after warm-up: 90 messages to the one subscriber.
      expect(variant.sent).toBe(90);
      expect(variant.received + variant.lost).toBe(variant.sent);
      expect(variant.duplicates).toBe(0);
      expect(variant.received).toBeGreaterThan(0);
      expect(variant.notes).toBeUndefined();
      const path = variant.name.startsWith('same') ? 'same-broker' : 'cross-broker';
      expect(variant.byPath?.[path]?.sent).toBe(variant.sent);
    }
    const cross = results.variants.find((v) => v.name === 'cross-broker qos0')!;
    expect(cross.byPath?.['cross-broker']?.latencyMs.p50).toBeGreaterThanOrEqual(0);
    // No loss on a steady path at QoS 1 within one broker.
    expect(results.variants.find((v) => v.name === 'same-broker qos1')!.lost).toBe(0);

    expect(results.comparison).not.toBeNull();
    expect(results.comparison!.crossBrokerP50Ms).toBeGreaterThan(0);
    expect(results.comparison!.sameBrokerP50Ms).toBeGreaterThan(0);
    expect(results.paper.overhead).toBe(0.5);
    expect(results.environment).toMatchObject({ topology: 'in-process', impairment: 'none' });
    expect(results.services[0]!.name).toMatch(/share one process/);
  });
});
