import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { IN_PROCESS_SERVICE, inProcessTopology } from '../topology/in-process.ts';
import { processesTopology } from '../topology/processes.ts';
import type { StartedTopology, Topology } from '../topology/topology.ts';
import { CostMeter, HARNESS_SERVICE, mergeCosts } from './cost-meter.ts';
import { schedstatAvailable } from './proc-stats.ts';

const linux = process.platform === 'linux';
const MESSAGES = 200;
const PAYLOAD = Buffer.alloc(100, 1);

/** Publishes on broker a until b's subscriber hears it (the link is up), then meters a burst. */
async function meterBurst(topology: StartedTopology) {
  const publisher = await mqtt.connectAsync(topology.endpoint('a').mqttUrl, { reconnectPeriod: 0 });
  const subscriber = await mqtt.connectAsync(topology.endpoint('b').mqttUrl, {
    reconnectPeriod: 0,
  });
  try {
    await subscriber.subscribeAsync('cost/#');
    await untilHeard(publisher, subscriber);
    let delivered = 0;
    subscriber.on('message', (topic) => {
      if (topic === 'cost/burst') delivered++;
    });
    const meter = await CostMeter.begin(topology, { intervalMs: 100, linkIntervalMs: 200 });
    for (let i = 0; i < MESSAGES; i++) await publisher.publishAsync('cost/burst', PAYLOAD);
    const until = Date.now() + 10_000;
    while (delivered < MESSAGES && Date.now() < until) await sleep(20);
    return await meter.end(delivered);
  } finally {
    await publisher.endAsync(true);
    await subscriber.endAsync(true);
  }
}

async function untilHeard(publisher: MqttClient, subscriber: MqttClient) {
  const heard = new Promise<void>((resolve) => subscriber.once('message', () => resolve()));
  const timer = setInterval(() => publisher.publish('cost/probe', 'probe'), 50);
  try {
    await heard;
  } finally {
    clearInterval(timer);
  }
}

function withTopology(make: () => Topology) {
  return make().start({ brokers: ['a', 'b'] });
}

describe('the cost meter', () => {
  it('in-process, charges all CPU to the one shared process and counts peer-link bytes', async () => {
    await using topology = await withTopology(() => inProcessTopology());
    const cost = await meterBurst(topology);
    expect(cost.delivered).toBe(MESSAGES);
    expect(Object.keys(cost.cpuUsPerMessage)).toEqual([IN_PROCESS_SERVICE]);
    expect(cost.cpuUsPerMessage[IN_PROCESS_SERVICE]).toBeGreaterThan(0);
    // Each message crosses the a → b link once, with its payload and some framing.
    expect(cost.linkBytesPerMessage).toBeGreaterThanOrEqual(PAYLOAD.length);
    expect(cost.linkBytesPerMessage).toBeLessThan(PAYLOAD.length * 4);
  });

  it.runIf(linux)(
    'with service processes, charges each service and the harness apart, by their names in results',
    async () => {
      await using topology = await withTopology(() => processesTopology());
      const cost = await meterBurst(topology);
      expect(cost.delivered).toBe(MESSAGES);
      expect(Object.keys(cost.cpuUsPerMessage).sort()).toEqual(
        ['auth', 'broker a', 'broker b', 'discovery', HARNESS_SERVICE].sort(),
      );
      expect(cost.cpuUsPerMessage['broker a']).toBeGreaterThan(0);
      expect(cost.cpuUsPerMessage['broker b']).toBeGreaterThan(0);
      expect(cost.cpuUsPerMessage[HARNESS_SERVICE]).toBeGreaterThan(0);
      expect(cost.linkBytesPerMessage).toBeGreaterThanOrEqual(PAYLOAD.length);
      expect(cost.linkBytesPerMessage).toBeLessThan(PAYLOAD.length * 4);
    },
  );

  it.runIf(linux)(
    'reads CPU to well under a clock tick, and counts a process started in the window from zero',
    async () => {
      // Burns until it has used `ms` of CPU (not of wall time: the machine may be busy), says so.
      const burn = (ms: number) =>
        spawn(
          process.execPath,
          [
            '-e',
            `while (process.cpuUsage().user < ${ms * 1000}); process.stdout.write('burnt\\n'); setInterval(() => {}, 1e6)`,
          ],
          { stdio: ['ignore', 'pipe', 'ignore'] },
        );
      const idle = spawn(
        process.execPath,
        ['-e', 'setInterval(() => {}, 1e6); process.stdout.write("ready\\n")'],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      let late: ReturnType<typeof burn> | undefined;
      const pids = new Map<string, number>([['idle', idle.pid!]]);
      const topology = {
        kind: 'processes',
        brokers: [],
        processIds: () => pids,
      } as unknown as StartedTopology;
      try {
        await once(idle.stdout!, 'data'); // the idle one has started up
        const meter = await CostMeter.begin(topology, { intervalMs: 50 });
        late = burn(200);
        pids.set('late', late.pid!);
        await once(late.stdout!, 'data');
        const cost = await meter.end(1);
        // Its start-up and 200 ms of burning, all inside the window.
        expect(cost.cpuUsPerMessage.late).toBeGreaterThan(200_000);
        // Nanoseconds, not 10 ms ticks: a tick count would be a whole multiple of 10 000 µs.
        if (schedstatAvailable()) expect(cost.cpuUsPerMessage.late! % 10_000).not.toBe(0);
        expect(cost.cpuUsPerMessage.idle).toBeLessThan(10_000);
        expect(cost.linkBytesPerMessage).toBeNull();
      } finally {
        for (const child of [idle, late]) if (child?.pid !== undefined) process.kill(child.pid);
      }
    },
  );

  it('says nothing per message when nothing was delivered', async () => {
    const topology = { kind: 'in-process', brokers: [] } as unknown as StartedTopology;
    const meter = await CostMeter.begin(topology);
    expect(await meter.end(0)).toEqual({
      delivered: 0,
      cpuUsPerMessage: {},
      linkBytesPerMessage: null,
    });
  });

  it('merges repetitions weighting each by what it delivered', () => {
    expect(
      mergeCosts([
        { delivered: 100, cpuUsPerMessage: { x: 10, y: 1 }, linkBytesPerMessage: 50 },
        { delivered: 300, cpuUsPerMessage: { x: 20 }, linkBytesPerMessage: null },
        { delivered: 0, cpuUsPerMessage: {}, linkBytesPerMessage: null },
      ]),
    ).toEqual({
      delivered: 400,
      cpuUsPerMessage: { x: 17.5, y: 1 },
      linkBytesPerMessage: 50,
    });
  });
});
