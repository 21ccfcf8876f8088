import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startLocalFederation } from '../../system/broker/index.ts';
import { tempDir } from '../../system/common/testing.ts';
import { OpenLoopPublisher } from './open-loop-publisher.ts';
import { decodeMessage, nowMs } from './payload.ts';

/** Keeps the event loop busy: what a GC pause or a slow broker does to a publisher. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('the open-loop publisher does not hide a stall (no coordinated omission)', () => {
  it('keeps the schedule through a stall, so the stall shows as delay of every message due in it', async () => {
    await using dir = await tempDir('mqfed-co-');
    await using federation = await startLocalFederation({
      dataDir: dir.path,
      brokers: ['a'],
      logLevel: 'silent',
    });
    const url = federation.broker('a').mqttUrl;
    const subscriber = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const publisher = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    try {
      const delays = new Map<number, { scheduled: number; delay: number }>();
      const count = 60;
      const all = new Promise<void>((resolve) => {
        subscriber.on('message', (_topic, payload) => {
          const message = decodeMessage(payload);
          if (message === undefined) return;
          delays.set(message.seq, {
            scheduled: message.scheduledMs,
            delay: nowMs() - message.scheduledMs,
          });
          if (delays.size === count) resolve();
        });
      });
      await subscriber.subscribeAsync('co/#');
      const startMs = nowMs() + 20;
      const open = new OpenLoopPublisher(publisher, {
        runId: 1,
        publisher: 0,
        rate: 200,
        count,
        startMs,
        topics: ['co/t'],
        qos: 0,
        payloadBytes: 32,
      });
      const sending = open.run();
      // 100 ms into the run (message 20 is due), the process stalls for 150 ms.
      setTimeout(() => stall(150), 120);
      await sending;
      await all;

      // The schedule itself never moved: message n was due at start + 5 ms · n.
      for (const [seq, { scheduled }] of delays) {
        expect(scheduled).toBeCloseTo(startMs + seq * 5, 6);
      }
      // Messages due during the stall were sent late, in a burst, and carry that lateness: a
      // closed-loop client would have sent them after the stall and measured none of it.
      const inStall = [...delays].filter(([seq]) => seq >= 22 && seq <= 45);
      const late = inStall.filter(([, { delay }]) => delay > 50);
      expect(late.length).toBeGreaterThan(inStall.length / 2);
      const worst = Math.max(...inStall.map(([, { delay }]) => delay));
      expect(worst).toBeGreaterThan(120);
    } finally {
      await publisher.endAsync(true);
      await subscriber.endAsync(true);
    }
  });
});
