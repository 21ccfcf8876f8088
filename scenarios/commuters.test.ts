import { describe, expect, it } from 'vitest';
import { applyQuick, clientRandom, defineScenario } from '../harness/index.ts';
import { planVariant } from '../harness/variant-plan.ts';
import commuters, { commute } from './commuters.ts';

/** Where the model puts one client at each second up to `seconds`, asked every 250 ms. */
function path(model: ReturnType<typeof commute>, random: () => number, seconds: number) {
  const brokers = ['a', 'b', 'c', 'd'];
  let broker = 'a';
  const moves: { tMs: number; from: string; to: string }[] = [];
  for (let tMs = 0; tMs <= seconds * 1000; tMs += 250) {
    const next = model({ id: 'c-0', index: 0, count: 1, broker, brokers }, tMs, random) ?? broker;
    if (next !== broker) moves.push({ tMs, from: broker, to: next });
    broker = next;
  }
  return moves;
}

describe('the commuters scenario', () => {
  it('has a thousand persistent QoS 1 commuters on four brokers, feeds on a fifth, and a clean baseline', () => {
    const groups = commuters.clients.mobile;
    expect(groups.reduce((n, g) => n + g.count, 0)).toBe(1_000);
    for (const group of groups) {
      expect(group).toMatchObject({ qos: 1, persistent: true });
      expect(group.brokers).toEqual(['home', 'work', 'mall', 'station']);
    }
    expect(commuters.clients.publishers[0]).toMatchObject({ broker: 'hub', rate: 1, qos: 1 });
    const plans = commuters.variants.map((variant) =>
      planVariant(commuters, variant, commuters.durationMs, commuters.seed),
    );
    expect(plans.map((plan) => plan.subscribers.filter((s) => s.spec.persistent).length)).toEqual([
      1_000, 0,
    ]);
    // Commuter i of every group follows feed i, and only it: ten commuters per feed.
    const [plan] = plans;
    expect(plan!.expectations).toHaveLength(1_000);
    for (const e of plan!.expectations) expect(e.publisher).toBe(e.subscriber % 100);
  });

  it('under --quick runs 200 commuters and 20 feeds on three brokers', () => {
    const quick = applyQuick(commuters);
    expect(quick.brokers).toEqual(['home', 'work', 'station']);
    expect(quick.clients.mobile.reduce((n, g) => n + g.count, 0)).toBe(200);
    for (const group of quick.clients.mobile) expect(group.brokers).toEqual(quick.brokers);
    expect(quick.clients.publishers[0]).toMatchObject({ count: 20, broker: quick.brokers });
    expect(quick.quick).toMatchObject({ durationMs: 23_000, warmupMs: 3_000 });
    expect(quick.quick?.counts).toBeUndefined();
  });

  it('moves each client every 20 to 40 s, to another broker, and replays with the same seed', () => {
    const model = commute(20_000, 40_000);
    const moves = path(model, clientRandom(13, 0), 300);
    expect(moves.length).toBeGreaterThanOrEqual(300 / 40 - 1);
    expect(moves.length).toBeLessThanOrEqual(300 / 20 + 1);
    for (const [k, move] of moves.entries()) {
      expect(move.to).not.toBe(move.from);
      if (k === 0) expect(move.tMs).toBeLessThanOrEqual(40_000);
      else {
        const dwell = move.tMs - moves[k - 1]!.tMs;
        expect(dwell).toBeGreaterThanOrEqual(20_000 - 250);
        expect(dwell).toBeLessThanOrEqual(40_000 + 250);
      }
    }
    // Not all dwells alike: jitter.
    const dwells = new Set(moves.slice(1).map((m, k) => m.tMs - moves[k]!.tMs));
    expect(dwells.size).toBeGreaterThan(2);
    // A fresh source with the same seed (the next variant) replays the same moves.
    expect(path(model, clientRandom(13, 0), 300)).toEqual(moves);
    expect(path(model, clientRandom(14, 0), 300)).not.toEqual(moves);
  });

  it('refuses --quick overrides that name no group or a broker the quick run lacks', () => {
    const spec = { ...commuters, quick: { ...commuters.quick!, counts: { feeds: 10 } } };
    expect(() => defineScenario(spec)).toThrow(/under --quick: quick: no client group "feeds"/);
    const lacking = { ...commuters, quick: { ...commuters.quick!, brokers: ['home', 'work'] } };
    expect(() => defineScenario(lacking)).toThrow(/under --quick: .*unknown broker "station"/);
  });
});
