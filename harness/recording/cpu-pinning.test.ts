import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { StartedTopology } from '../topology/topology.ts';
import { serviceLabel } from './cost-meter.ts';
import {
  applyPinning,
  describePlan,
  planPinning,
  readAffinity,
  tasksetAvailable,
} from './cpu-pinning.ts';
import { allowedCpus } from './proc-stats.ts';

const MQFED = ['auth', 'discovery', 'a', 'b', 'c'];
const cpus = allowedCpus() ?? [];
const canPin = (await tasksetAvailable()) && cpus.length >= 2;

function sleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
}

describe('CPU pinning', () => {
  it('plans nothing on one CPU', () => {
    expect(planPinning([0], MQFED)).toBeUndefined();
  });

  it('on two CPUs puts the harness on one and every service on the other', () => {
    const plan = planPinning([0, 1], MQFED)!;
    expect(plan.harness).toEqual([0]);
    expect([...plan.services.values()]).toEqual(MQFED.map(() => [1]));
    expect(describePlan(plan, (name) => serviceLabel({ brokers: ['a', 'b', 'c'] }, name))).toBe(
      'harness on CPU 0; auth, discovery, broker a, broker b, broker c on CPU 1',
    );
  });

  it('on four or more gives each broker a CPU, sharing round-robin when CPUs run out', () => {
    const plan = planPinning([4, 5, 6, 7], [...MQFED, 'client host edge'])!;
    expect(plan.harness).toEqual([4]);
    expect(Object.fromEntries(plan.services)).toEqual({
      auth: [5],
      discovery: [5],
      a: [6],
      b: [7],
      c: [6],
      'client host edge': [4],
    });
    // Without auth and discovery (the Mosquitto baseline), brokers start on the second CPU.
    const mosquitto = planPinning([0, 1, 2, 3], ['mosquitto a', 'mosquitto b'])!;
    expect(Object.fromEntries(mosquitto.services)).toEqual({
      'mosquitto a': [1],
      'mosquitto b': [2],
    });
  });

  it('says so and pins nothing when not asked', async () => {
    const topology = { kind: 'in-process', brokers: [], sampledServices: [] };
    const pinning = await applyPinning(topology as unknown as StartedTopology, { enabled: false });
    expect(pinning.description).toBeNull();
    await pinning.close();
  });

  it.skipIf(!canPin)(
    'pins harness and service processes with taskset, follows a restart, and unpins the harness on close',
    async () => {
      const harness = sleeper();
      const auth = sleeper();
      const broker = sleeper();
      let restarted: ChildProcess | undefined;
      const pids = new Map([
        ['auth', auth.pid!],
        ['a', broker.pid!],
      ]);
      const topology = {
        kind: 'processes',
        brokers: ['a'],
        sampledServices: ['auth', 'a'],
        processIds: () => pids,
      } as unknown as StartedTopology;
      const two = cpus.slice(0, 2);
      try {
        await sleep(100); // the children exist as node processes with their threads
        const pinning = await applyPinning(topology, {
          enabled: true,
          harnessPid: harness.pid!,
          cpus: two,
        });
        expect(pinning.description).toBe(
          `harness on CPU ${two[0]}; auth, broker a on CPU ${two[1]} (taskset)`,
        );
        expect(await readAffinity(harness.pid!)).toEqual([two[0]]);
        // Every thread, not only the main one (/proc/<tid> answers for threads too).
        for (const tid of readdirSync(`/proc/${harness.pid}/task`)) {
          expect(allowedCpus(Number(tid))).toEqual([two[0]]);
        }
        expect(await readAffinity(auth.pid!)).toEqual([two[1]]);
        expect(await readAffinity(broker.pid!)).toEqual([two[1]]);
        restarted = sleeper();
        pids.set('a', restarted.pid!);
        const until = Date.now() + 5_000;
        while (Date.now() < until) {
          if ((await readAffinity(restarted.pid!)).join() === `${two[1]}`) break;
          await sleep(100);
        }
        expect(await readAffinity(restarted.pid!)).toEqual([two[1]]);
        await pinning.close();
        expect(await readAffinity(harness.pid!)).toEqual(allowedCpus(process.pid));
      } finally {
        for (const child of [harness, auth, broker, restarted]) child?.kill('SIGKILL');
      }
    },
  );
});
