import { describe, expect, it } from 'vitest';
import { defineScenario, resultsSchema, runScenario } from '../harness/index.ts';
import paper2 from './paper-2.ts';

describe('paper-2, run in-process for a moment', () => {
  it('moves the mobile subscribers between brokers and records each handover with its gap', async () => {
    // The federation variant only, 3 s, with the mobile clients moving every second.
    const short = defineScenario({
      ...paper2,
      clients: {
        ...paper2.clients,
        mobile: paper2.clients.mobile.map((group) => ({
          ...group,
          count: 3,
          mobility: { kind: 'round-robin' as const, dwellMs: 1_000 },
          handoverWindowMs: 500,
        })),
      },
      durationMs: 3_000,
      warmupMs: 500,
      drainMs: 500,
      variants: [{ name: 'mqfed' }],
      quick: undefined,
    });
    const { results } = await runScenario(short, { repeat: 1 });

    expect(resultsSchema.safeParse(results).success).toBe(true);
    const [variant] = results.variants;
    expect(variant!.received + variant!.lost).toBe(variant!.sent);
    expect(variant!.duplicates).toBe(0);
    // Three clients staggered over a 1 s dwell for 3 s: at least two moves each.
    expect(variant!.handovers.length).toBeGreaterThanOrEqual(6);
    const gaps = variant!.handovers.flatMap((h) => (h.gapMs === undefined ? [] : [h.gapMs]));
    expect(gaps.length).toBeGreaterThanOrEqual(3);
    for (const gap of gaps) expect(gap).toBeGreaterThan(0);
    for (const handover of variant!.handovers) expect(handover.from).not.toBe(handover.to);
    // Both paths and both phases saw traffic.
    expect(variant!.byPath?.['same-broker']?.received).toBeGreaterThan(0);
    expect(variant!.byPath?.['cross-broker']?.received).toBeGreaterThan(0);
    expect(variant!.byPhase?.handover?.sent).toBeGreaterThan(0);
    expect(results.comparison).not.toBeNull();
  });
});
