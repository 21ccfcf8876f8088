import { describe, expect, it } from 'vitest';
import { defineScenario, effectiveTiming, runScenario } from '../harness/index.ts';
import linkFlap from './link-flap.ts';

describe('link-flap', () => {
  it('cuts and restores peer links of every broker, in pairs, within its quick form too', () => {
    const actions = linkFlap.faults.map((fault) => `${fault.action} ${fault.broker}`);
    expect(actions).toEqual([
      'cut-links b',
      'restore-links b',
      'cut-links c',
      'restore-links c',
      'cut-links b',
      'restore-links b',
      'cut-links a',
      'restore-links a',
    ]);
    // QoS 0 and QoS 1 clients on every broker.
    const qos = (groups: readonly { qos: 0 | 1; broker: string | string[] }[]) =>
      groups.map((group) => [group.qos, group.broker]);
    expect(qos(linkFlap.clients.publishers)).toEqual([
      [0, ['a', 'b', 'c']],
      [1, ['a', 'b', 'c']],
    ]);
    expect(qos(linkFlap.clients.subscribers)).toEqual(qos(linkFlap.clients.publishers));
    // Quick: fault times scale with the duration; the last restore leaves time to recover.
    const quick = effectiveTiming(linkFlap, true);
    const scale = quick.durationMs / linkFlap.durationMs;
    const last = linkFlap.faults.at(-1)!.atMs * scale;
    expect(linkFlap.faults[0]!.atMs * scale).toBeGreaterThan(quick.warmupMs);
    expect(quick.durationMs - last + linkFlap.drainMs).toBeGreaterThanOrEqual(5_000);
  });

  it('run in-process, shortened: the cut costs only the paths across it, and every row adds up', async () => {
    // b's links are cut from 2 s to 3 s of a 6 s schedule; 2.5 s are left to recover.
    const short = defineScenario({
      ...linkFlap,
      durationMs: 6_000,
      warmupMs: 1_000,
      drainMs: 1_500,
      faults: [
        { atMs: 2_000, broker: 'b', action: 'cut-links' },
        { atMs: 3_000, broker: 'b', action: 'restore-links' },
      ],
      quick: undefined,
    });
    const { results } = await runScenario(short, { repeat: 1, measureFloor: false });
    const [variant] = results.variants;
    expect(variant!.faults?.map((f) => [f.action, f.broker, f.error])).toEqual([
      ['cut-links', 'b', undefined],
      ['restore-links', 'b', undefined],
    ]);
    expect(variant!.notes?.some((note) => /relays of the harness/.test(note))).toBe(true);
    const [outage] = variant!.outages ?? [];
    expect(outage).toMatchObject({ broker: 'b', down: 'cut-links', up: 'restore-links' });
    // a ↔ c and every path within one broker (b's own clients included: they stayed
    // connected through the cut) lost nothing.
    expect(outage!.surviving.sent).toBeGreaterThan(0);
    expect(outage!.surviving.lost).toBe(0);
    expect(outage!.whileDown.sent).toBeGreaterThan(0);
    // The links came back before the run ended.
    expect(outage!.recoveryMs).not.toBeNull();
    // One row per QoS; 3 publishers × 20 msg/s × 5 s after the warm-up each.
    const rows = variant!.delivery!;
    expect(rows.map((row) => row.qos)).toEqual([0, 1]);
    for (const row of rows) {
      expect(row.sent).toBe(300);
      expect(row.delivered + row.lost).toBe(row.expected);
    }
    // Every QoS 1 publish was acknowledged: each publisher's own broker stayed up.
    expect(rows[1]!.acknowledged).toBe(300);
    expect(rows[1]!.expected).toBe(900);
    expect(rows[0]!.acknowledged).toBeNull();
  }, 60_000);
});
