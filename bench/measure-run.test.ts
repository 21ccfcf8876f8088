import { describe, expect, it } from 'vitest';
import { HARNESS_SERVICE } from '../harness/recording/cost-meter.ts';
import { publisherThread } from '../harness/workload/publisher-thread.ts';
import { measureRun } from './measure-run.ts';
import { PATH_NAMES, type PathName } from './paths.ts';
import type { RunResult } from './results.ts';
import { SystemUnderTest } from './system-under-test.ts';

const RUN_TIMEOUT_MS = 180_000;
/** The process that serves each path's subscriber. */
const SERVER: Record<PathName, string> = {
  same: 'broker a',
  cross: 'broker b',
  relay: 'relay',
  'mosquitto-same': 'mosquitto a',
  mosquitto: 'mosquitto b',
  'cross-tls': 'broker b-tls',
  'cross-qos1-durable': 'broker b',
  'cross-qos1-memory': 'broker b-mem',
  'mosquitto-qos1': 'mosquitto b-qos1',
};

describe('a run of the link bench on the system under test, every part its own process', () => {
  it(
    'delivers every message of every path, and reports its delay, its cost and where it went',
    async () => {
      const results = new Map<PathName, RunResult>();
      let outboxes: SystemUnderTest['outboxes'] = {};
      await publisherThread.hold(async () => {
        await using system = await SystemUnderTest.start({ paths: PATH_NAMES });
        outboxes = system.outboxes;
        expect(system.paths.slice(0, 3)).toEqual(['same', 'cross', 'relay']);
        expect(system.paths).toContain('cross-qos1-durable');
        expect(system.paths).toContain('cross-qos1-memory');
        for (const [index, path] of system.paths.entries()) {
          const plan = { label: path, runId: index + 1, path, rate: 400, durationMs: 1_000 };
          const run = { ...plan, warmupMs: 100, limitMs: 50, stopWhenFailed: false };
          results.set(path, await measureRun(run, system, () => {}));
        }
      });
      for (const [path, result] of results) {
        // 400 messages; the 40 of the warm-up are left out of the counts.
        expect(result.published, path).toBe(400);
        expect([result.sent, result.received, result.lost, result.duplicates], path).toEqual([
          360, 360, 0, 0,
        ]);
        expect(result.latencyMs.p50, path).toBeGreaterThan(0);
        expect(result.cost.delivered, path).toBe(360);
        expect(result.cost.cpuUsPerMessage[HARNESS_SERVICE], path).toBeGreaterThan(0);
        expect(result.cost.cpuUsPerMessage[SERVER[path]], path).toBeGreaterThan(0);
      }
      // Only the cross paths cross the peer link: A forwards every message of it to B.
      const cross = results.get('cross')!;
      expect(cross.delivery).toBeNull();
      expect(cross.brokers['broker a']!.forwarded).toBeGreaterThanOrEqual(400);
      expect(cross.brokers['broker b']!.delivered).toBe(cross.brokers['broker a']!.forwarded);
      expect(cross.cost.linkBytesPerMessage).toBeGreaterThan(64);
      expect(results.get('same')!.brokers['broker a']!.forwarded).toBe(0);
      // At QoS 1 every publish after the warm-up was acknowledged, and every one delivered.
      for (const path of ['cross-qos1-durable', 'cross-qos1-memory', 'mosquitto-qos1'] as const) {
        const result = results.get(path)!;
        expect(result.qos, path).toBe(1);
        expect(result.delivery, path).toEqual({
          sent: 360,
          acknowledged: 360,
          unacknowledged: 0,
          delivered: 360,
          lost: 0,
          duplicated: 0,
          deliveredUnacknowledged: 0,
        });
      }
      const memory = results.get('cross-qos1-memory')!;
      expect(memory.brokers['broker a-mem']!.forwarded).toBeGreaterThanOrEqual(400);
      expect(memory.brokers['broker a']!.forwarded).toBe(0);
      // The TLS federation's counters are read over HTTPS, trusting its CA: it forwarded them.
      const tls = results.get('cross-tls')!;
      expect(tls.brokers['broker a-tls']!.forwarded).toBeGreaterThanOrEqual(400);
      expect(tls.cost.linkBytesPerMessage).toBeGreaterThan(64);
      // The durable brokers keep their store in their data directory, the memory ones have none.
      expect(outboxes.mqfed).toMatch(/^durable/);
      expect(outboxes['mqfed-memory']).toMatch(/^memory only/);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'runs the federation as mqfed up, every service in one process, when asked',
    async () => {
      let result: RunResult | undefined;
      let processes: ReadonlyMap<string, number> = new Map();
      await publisherThread.hold(async () => {
        await using system = await SystemUnderTest.start({ paths: ['cross'], federation: 'up' });
        processes = system.processIds();
        const plan = {
          label: 'cross',
          runId: 1,
          path: 'cross' as const,
          rate: 400,
          durationMs: 1_000,
        };
        const run = { ...plan, warmupMs: 100, limitMs: 50, stopWhenFailed: false };
        result = await measureRun(run, system, () => {});
      });
      // One process holds auth, discovery and both brokers: no process of a broker of its own.
      expect([...processes.keys()].sort()).toEqual(['bench', 'mqfed up']);
      expect([result!.sent, result!.received, result!.lost]).toEqual([360, 360, 0]);
      expect(result!.cost.cpuUsPerMessage['mqfed up']).toBeGreaterThan(0);
      expect(result!.brokers['broker a']!.forwarded).toBeGreaterThanOrEqual(400);
      expect(result!.cost.linkBytesPerMessage).toBeGreaterThan(64);
    },
    RUN_TIMEOUT_MS,
  );
});
