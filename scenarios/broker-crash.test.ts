import { describe, expect, it } from 'vitest';
import {
  defineScenario,
  inProcessTopology,
  processesTopology,
  runScenario,
} from '../harness/index.ts';
import { MqfedError } from '../system/protocol/index.ts';
import brokerCrash from './broker-crash.ts';

describe('broker-crash, as processes, shortened', () => {
  it('loses nothing on the surviving paths, loses some of b’s while it is down, and recovers', async () => {
    // 9 s: b is killed at 4 s and restarted at 6 s (the declared times, scaled).
    const short = defineScenario({
      ...brokerCrash,
      durationMs: 9_000,
      warmupMs: 1_000,
      faults: [
        { atMs: 4_000, broker: 'b', action: 'kill' },
        { atMs: 6_000, broker: 'b', action: 'restart' },
      ],
      quick: undefined,
    });
    const { results } = await runScenario(short, { topology: processesTopology() });
    const [variant] = results.variants;

    expect(variant!.faults?.map((f) => [f.action, f.broker, f.error])).toEqual([
      ['kill', 'b', undefined],
      ['restart', 'b', undefined],
    ]);
    const [outage] = variant!.outages ?? [];
    expect(outage).toMatchObject({ broker: 'b', down: 'kill', up: 'restart' });
    expect(outage!.downAtMs).toBeGreaterThanOrEqual(4_000);
    // a → c, c → a, a → a, c → c kept flowing while b was down.
    expect(outage!.surviving.sent).toBeGreaterThan(0);
    expect(outage!.surviving.lost).toBe(0);
    // b's subscriber was gone for two seconds: what a and c published for it then was lost.
    expect(outage!.whileDown.lost).toBeGreaterThan(0);
    // Its clients reconnected and the links came back before the run ended.
    expect(outage!.recoveryMs).not.toBeNull();
    expect(outage!.recoveryMs!).toBeLessThan(3_000);
  });

  it('refuses, before any client connects, a fault its topology cannot do', async () => {
    // In-process brokers share the harness process: they can stop, not crash.
    const error = await runScenario(brokerCrash, {
      topology: inProcessTopology(),
      quick: true,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MqfedError);
    expect((error as MqfedError).code).toBe('INVALID_REQUEST');
    expect((error as MqfedError).message).toMatch(/in-process topology cannot kill/);
  });
});
