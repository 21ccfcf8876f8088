import { describe, expect, it } from 'vitest';
import { primeTimeoutMs, RoutePrimer } from './route-priming.ts';

/** A clock that moves only when the primer sleeps. */
function fakeTime() {
  let nowMs = 0;
  return {
    now: () => nowMs,
    sleep: async (ms: number) => {
      nowMs += ms;
    },
  };
}

describe('route priming', () => {
  it('probes only publishers with a route still waiting, and stops once every route carried a probe', async () => {
    const primer = new RoutePrimer([
      { subscriber: 0, publisher: 0 },
      { subscriber: 1, publisher: 0 },
      { subscriber: 0, publisher: 1 },
    ]);
    expect(primer.missing).toBe(3);
    const probes: number[] = [];
    const missing = await primer.prime({
      timeoutMs: 10_000,
      ...fakeTime(),
      probe: (publisher) => {
        probes.push(publisher);
        // Publisher 1's route works at once; publisher 0 reaches subscriber 1 only on its third probe.
        if (publisher === 1) primer.arrived(0, 1);
        if (publisher === 0) primer.arrived(0, 0);
        if (publisher === 0 && probes.filter((p) => p === 0).length === 3) primer.arrived(1, 0);
      },
    });
    expect(missing).toBe(0);
    expect(probes).toEqual([0, 1, 0, 0]);
  });

  it('probes every publisher at once first, then keeps within its budget per tick, in turn', async () => {
    const routes = Array.from({ length: 50 }, (_, publisher) => ({ subscriber: 0, publisher }));
    const primer = new RoutePrimer(routes);
    const perTick: number[][] = [[]];
    const time = fakeTime();
    const missing = await primer.prime({
      timeoutMs: 1_000,
      probesPerSecond: 200,
      tickMs: 100,
      now: time.now,
      sleep: async (ms) => {
        perTick.push([]);
        await time.sleep(ms);
      },
      probe: (publisher) => perTick.at(-1)!.push(publisher),
    });
    // Nothing ever arrives: one burst of all 50 (their topics appear together), then 20 probes
    // a tick, every publisher once per pass, until time is up.
    expect(missing).toBe(50);
    const ticks = perTick.filter((tick) => tick.length > 0);
    expect(ticks).toHaveLength(10);
    expect(ticks[0]).toEqual([...routes.keys()]);
    expect(ticks.slice(1).every((tick) => tick.length <= 20)).toBe(true);
    // A pass takes every waiting publisher once, in order; the next pass starts on the next tick.
    expect(ticks.slice(1, 4).flat()).toEqual([...routes.keys()]);
    expect(ticks[4]!.slice(0, 3)).toEqual([0, 1, 2]);
  });

  it('counts a route once, and ignores probes nobody waits for', () => {
    const primer = new RoutePrimer([
      { subscriber: 3, publisher: 7 },
      { subscriber: 3, publisher: 7 },
    ]);
    expect(primer.total).toBe(1);
    primer.arrived(4, 7);
    primer.arrived(3, 8);
    expect(primer.missing).toBe(1);
    primer.arrived(3, 7);
    primer.arrived(3, 7);
    expect(primer.missing).toBe(0);
  });

  it('gives a crowd of publishers longer than a handful', () => {
    expect(primeTimeoutMs(10)).toBeLessThan(10_100);
    expect(primeTimeoutMs(4_000)).toBe(30_000);
  });
});
