import { describe, expect, it } from 'vitest';
import { defineScenario, runScenario } from '../harness/index.ts';
import paper3 from './paper-3.ts';

describe('paper-3, run in-process for a moment', () => {
  it('carries every delivery across the emulated links: cross-broker pays one more link', async () => {
    const short = defineScenario({
      ...paper3,
      durationMs: 3_000,
      warmupMs: 500,
      drainMs: 500,
      variants: [{ name: 'mqfed' }],
      quick: undefined,
    });
    const { results } = await runScenario(short, { repeat: 1 });

    expect(results.environment.impairment).toBe('delay-proxy');
    expect(results.parameters.network).toMatchObject({ control: 'vm-control' });
    const [variant] = results.variants;
    expect(variant!.byPhase?.steady?.lost).toBe(0);
    // Same broker: client host → broker host → client host, two 3 ms links at the least.
    const same = variant!.byPath!['same-broker'].latencyMs;
    const cross = variant!.byPath!['cross-broker'].latencyMs;
    expect(same.p50).toBeGreaterThanOrEqual(6);
    // Cross-broker adds the 1 ms data-centre link between broker hosts.
    expect(cross.p50).toBeGreaterThanOrEqual(7);
    expect(results.comparison!.crossBrokerP50Ms).toBeGreaterThan(
      results.comparison!.sameBrokerP50Ms,
    );
  });
});
