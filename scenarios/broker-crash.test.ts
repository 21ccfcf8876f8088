import { afterEach, describe, expect, it } from 'vitest';
import {
  defineScenario,
  inProcessTopology,
  processesTopology,
  runScenario,
} from '../harness/index.ts';
import { trackedTopology } from '../harness/topology/tracked-topology.fixtures.ts';
import { MqfedError } from '../system/protocol/index.ts';
import brokerCrash from './broker-crash.ts';

/**
 * Five service processes and six clients for 8.5 s of schedule, twice (QoS 1, QoS 0): about
 * 30 s on an idle machine.
 * The limit is for a loaded one, where every process start (and the restart inside the run) takes
 * seconds; it is generous, not a target.
 */
const CRASH_RUN_TIMEOUT_MS = 180_000;

const topology = trackedTopology(processesTopology());
// Also after a timeout, when the run still holds its processes.
afterEach(() => topology.closeAll());

describe('broker-crash, as processes, shortened', () => {
  it(
    'loses nothing on the surviving paths, loses some of b’s at QoS 0 while it is down, recovers, and accounts for QoS 1',
    async () => {
      // b is killed at 3 s and restarted at 4.5 s. Before the kill the links need only to be
      // up; after the restart the run leaves 4 s for it to complete (a Node process starting,
      // slow on a loaded machine) and for every path through b to deliver again.
      const short = defineScenario({
        ...brokerCrash,
        durationMs: 8_500,
        warmupMs: 1_000,
        drainMs: 1_000,
        faults: [
          { atMs: 3_000, broker: 'b', action: 'kill' },
          { atMs: 4_500, broker: 'b', action: 'restart' },
        ],
        quick: undefined,
      });
      const { results } = await runScenario(short, { topology, measureFloor: false });
      expect(results.variants.map((variant) => variant.name)).toEqual(['qos1', 'qos0']);

      for (const variant of results.variants) {
        expect(variant.faults?.map((f) => [f.action, f.broker, f.error])).toEqual([
          ['kill', 'b', undefined],
          ['restart', 'b', undefined],
        ]);
        const [outage] = variant.outages ?? [];
        expect(outage).toMatchObject({ broker: 'b', down: 'kill', up: 'restart' });
        expect(outage!.downAtMs).toBeGreaterThanOrEqual(3_000);
        // a → c, c → a, a → a, c → c kept flowing while b was down.
        expect(outage!.surviving.sent).toBeGreaterThan(0);
        expect(outage!.surviving.lost).toBe(0);
        expect(outage!.whileDown.sent).toBeGreaterThan(0);
        // Its clients reconnected and the links came back before the run ended.
        expect(outage!.recoveryMs).not.toBeNull();
        expect(outage!.recoveryMs!).toBeLessThan(3_000);
        for (const row of variant.delivery!) {
          expect(row.delivered + row.lost).toBe(row.expected);
        }
      }
      const [qos1, qos0] = results.variants;
      // At QoS 0 b's subscriber was gone for a second and a half: what a and c published for it
      // then was lost, and so was what b's publisher could not hand over.
      expect(qos0!.outages![0]!.whileDown.lost).toBeGreaterThan(0);
      expect(qos0!.delivery!.map((row) => row.qos)).toEqual([0]);
      // At QoS 1 the table says what was acknowledged and what of that arrived: b's publisher
      // handed its messages to MQTT.js while b was down, to be sent once it was back.
      const [row] = qos1!.delivery!;
      expect(row).toMatchObject({ qos: 1, sent: 3 * 150 });
      expect(row!.acknowledged).toBeGreaterThan(0);
      expect(row!.acknowledged!).toBeLessThanOrEqual(row!.sent);
      expect(row!.expected).toBe(3 * row!.acknowledged!);
    },
    CRASH_RUN_TIMEOUT_MS,
  );

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
