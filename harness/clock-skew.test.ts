import { describe, expect, it } from 'vitest';
import { runScenario } from './run-scenario.ts';
import { defineScenario } from './scenario.ts';
import {
  inProcess,
  type SkewedClientHost,
  withSkewedClientHosts,
} from './skewed-client-hosts.fixtures.ts';
import { inProcessTopology } from './topology/in-process.ts';

/**
 * Two client hosts, one of them with a skewed clock, each publishing to a subscriber on the
 * other: skewed → plain on broker a (the same-broker path), plain → skewed from b to a (the
 * cross-broker path). 50 msg/s each for 1.5 s (0.3 s warm-up).
 */
const acrossHosts = defineScenario({
  name: 'clock-skew',
  brokers: ['a', 'b'],
  topology: 'in-process',
  network: { hosts: { 'vm-a': ['a'], 'vm-b': ['b'], 'vm-skewed': [], 'vm-plain': [] } },
  clients: {
    publishers: [
      { name: 'skewed-pub', broker: 'a', host: 'vm-skewed', rate: 50, topics: ['skew/out'] },
      { name: 'plain-pub', broker: 'b', host: 'vm-plain', rate: 50, topics: ['skew/in'] },
    ],
    subscribers: [
      { name: 'plain-sub', broker: 'a', host: 'vm-plain', filters: ['skew/out'] },
      { name: 'skewed-sub', broker: 'a', host: 'vm-skewed', filters: ['skew/in'] },
    ],
  },
  durationMs: 1_500,
  warmupMs: 300,
  drainMs: 500,
  variants: [{ name: 'across hosts' }],
  paper: { overhead: null, note: 'a test' },
});

/** Two threads of one machine read the wall clock at their start µs apart (run-clock.ts). */
const THREAD_CLOCKS_MS = 0.05;

async function runAcross(
  skewMs: number,
  launch?: Parameters<typeof withSkewedClientHosts>[2],
  onRunning?: (hosts: ReadonlyMap<string, SkewedClientHost>) => void,
) {
  let started: ReadonlyMap<string, SkewedClientHost> | undefined;
  const topology = withSkewedClientHosts(
    inProcessTopology(),
    { 'vm-skewed': skewMs },
    launch,
    (hosts) => {
      started = hosts;
    },
  );
  let stepped = false;
  const { results } = await runScenario(acrossHosts, {
    topology,
    measureFloor: false,
    onProgress: (progress) => {
      if (progress.phase !== 'running' || stepped || started === undefined) return;
      stepped = true;
      onRunning?.(started);
    },
  });
  const [variant] = results.variants;
  const clocks = variant!.repetitions[0]!.clocks!;
  const clockOf = (host: string) => clocks.find((clock) => clock.host === host)!;
  return { variant: variant!, clocks, skewed: clockOf('vm-skewed'), plain: clockOf('vm-plain') };
}

describe('client hosts whose clocks are off the harness’s', { timeout: 90_000 }, () => {
  it('measures a +250 ms clock within its bound, and delays across it are not off by the skew', async () => {
    const { variant, clocks, skewed, plain } = await runAcross(250);
    expect(clocks.map((clock) => clock.host).sort()).toEqual(['vm-plain', 'vm-skewed']);
    // The measured offset is the skew, to within its bound; the bound is half a real round trip.
    expect(Math.abs(skewed.offsetMs - 250)).toBeLessThanOrEqual(
      skewed.errorBoundMs + THREAD_CLOCKS_MS,
    );
    expect(skewed.errorBoundMs).toBeGreaterThan(0);
    expect(skewed.errorBoundMs).toBeLessThan(skewed.roundTripMs);
    expect(skewed.errorBoundMs).toBeLessThan(5);
    expect(Math.abs(plain.offsetMs)).toBeLessThanOrEqual(plain.errorBoundMs + THREAD_CLOCKS_MS);
    // Read again at the end: the same clock, so no drift beyond the two bounds, and no warning.
    expect(Math.abs(skewed.endOffsetMs! - 250)).toBeLessThanOrEqual(
      skewed.endErrorBoundMs! + THREAD_CLOCKS_MS,
    );
    expect(skewed.driftMs).toBeCloseTo(skewed.endOffsetMs! - skewed.offsetMs, 9);
    expect(skewed.drifted).toBe(false);
    expect(skewed.method).toBe('shortest-round-trip');
    expect(variant.notes?.join('\n')).not.toMatch(/WARNING/);
    expect(variant.notes?.join('\n')).toMatch(/vm-skewed .* (249|250)\.\d{3} ms ± /);

    // Every message arrived, and both directions' delays are small and positive: uncorrected,
    // one direction would read 250 ms more (its p50 past 250) and the other 250 ms less (below 0).
    expect(variant.lost).toBe(0);
    const out = variant.byPath!['same-broker']!; // skewed → plain
    const back = variant.byPath!['cross-broker']!; // plain → skewed
    for (const path of [out, back]) {
      expect(path.received).toBeGreaterThan(50);
      expect(path.latencyMs.p50).toBeGreaterThan(0);
      expect(path.latencyMs.p50).toBeLessThan(50);
    }
  });

  it('measures a −1234.5 ms clock of a real `mqfed client-host` process, skewed by MQFED_CLOCK_SKEW_MS', async () => {
    const { variant, skewed } = await runAcross(-1234.5, inProcess);
    // Another process: its clock's origin is its own reading of the wall clock, a few µs off.
    expect(Math.abs(skewed.offsetMs + 1234.5)).toBeLessThanOrEqual(
      skewed.errorBoundMs + THREAD_CLOCKS_MS,
    );
    expect(skewed.errorBoundMs).toBeGreaterThan(0);
    expect(skewed.errorBoundMs).toBeLessThan(5);
    expect(skewed.drifted).toBe(false);
    expect(variant.lost).toBe(0);
    for (const path of [variant.byPath!['same-broker']!, variant.byPath!['cross-broker']!]) {
      expect(path.received).toBeGreaterThan(50);
      expect(path.latencyMs.p50).toBeGreaterThan(0);
      expect(path.latencyMs.p50).toBeLessThan(50);
    }
  });

  it('measures and flags a clock that jumps 100 ms during the run', async () => {
    let stepped: Promise<void> | undefined;
    const { variant, skewed, plain } = await runAcross(250, undefined, (hosts) => {
      stepped = hosts.get('vm-skewed')!.setSkew!(350);
    });
    await stepped;
    expect(stepped).toBeDefined();
    // Read at the start at +250 and at the end at +350: a drift of 100 ms, beyond both bounds.
    expect(Math.abs(skewed.offsetMs - 250)).toBeLessThanOrEqual(
      skewed.errorBoundMs + THREAD_CLOCKS_MS,
    );
    expect(Math.abs(skewed.endOffsetMs! - 350)).toBeLessThanOrEqual(
      skewed.endErrorBoundMs! + THREAD_CLOCKS_MS,
    );
    expect(Math.abs(skewed.driftMs! - 100)).toBeLessThanOrEqual(
      skewed.errorBoundMs + skewed.endErrorBoundMs! + 2 * THREAD_CLOCKS_MS,
    );
    expect(skewed.drifted).toBe(true);
    expect(plain.drifted).toBe(false);
    const warning = variant.notes?.find((note) => note.includes('WARNING'));
    expect(warning).toMatch(/vm-skewed.*drifted (99|10\d)\.\d{3} ms/);
    expect(variant.notes?.filter((note) => note.includes('WARNING'))).toHaveLength(1);
  });
});
