import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startLocalFederation } from '../../system/broker/index.ts';
import { tempDir } from '../../system/common/testing.ts';
import { localClients } from './client-connection.ts';
import {
  OpenLoopPublisher,
  type PublisherSchedule,
  type PublishSink,
  scheduledAt,
} from './open-loop-publisher.ts';
import { decodeMessage, type HarnessMessage, nowMs } from './payload.ts';
import { PreciseScheduler } from './precise-scheduler.ts';

/** Keeps the thread busy: what a GC pause or a slow broker does to a publisher. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

const schedule = (overrides: Partial<PublisherSchedule> = {}): PublisherSchedule => ({
  runId: 1,
  publisher: 3,
  rate: 200,
  count: 60,
  startMs: nowMs() + 20,
  topics: ['t/0', 't/1'],
  qos: 0,
  payloadBytes: 32,
  ...overrides,
});

/** A sink that keeps what it was handed, and when. */
function capture() {
  const sent: { topic: string; message: HarnessMessage; atMs: number }[] = [];
  const sink: PublishSink<{ topic: string; payload: Buffer }> = {
    prepare: (topic, payload) => ({ topic, payload }),
    send({ topic, payload }) {
      sent.push({ topic, message: decodeMessage(payload)!, atMs: nowMs() });
    },
    flush() {},
  };
  return { sent, sink };
}

describe('the open-loop publisher', () => {
  it('sends every message of its schedule once, each carrying its own scheduled time', async () => {
    const { sent, sink } = capture();
    const plan = schedule();
    const report = await new OpenLoopPublisher(sink, plan, new PreciseScheduler()).run();

    expect(report.sent).toBe(60);
    expect(sent.map(({ message }) => message.seq)).toEqual([...Array(60).keys()]);
    for (const { topic, message, atMs } of sent) {
      expect(message).toMatchObject({ runId: 1, publisher: 3, probe: false });
      expect(message.scheduledMs).toBe(scheduledAt(plan, message.seq));
      expect(topic).toBe(`t/${message.seq % 2}`);
      // Never early: a message leaves at or after its time.
      expect(atMs).toBeGreaterThanOrEqual(message.scheduledMs);
    }
  });

  it('counts every message in its lag histogram, lateness in µs', async () => {
    const { sink } = capture();
    const report = await new OpenLoopPublisher(
      sink,
      schedule({ count: 25, rate: 500 }),
      new PreciseScheduler(),
    ).run();
    expect(report.lag.totalCount).toBe(25);
  });

  it('leaves the messages due in the warm-up out of the lag histogram, not out of the schedule', async () => {
    const { sent, sink } = capture();
    const plan = schedule({ count: 20, rate: 500 });
    const report = await new OpenLoopPublisher(
      sink,
      { ...plan, warmupEndMs: scheduledAt(plan, 5) },
      new PreciseScheduler(),
    ).run();
    expect(sent).toHaveLength(20);
    expect(report.sent).toBe(20);
    expect(report.lag.totalCount).toBe(15);
  });

  it('runs several schedules on one scheduler, each to its own times', async () => {
    const scheduler = new PreciseScheduler();
    const { sent, sink } = capture();
    const startMs = nowMs() + 20;
    const plans = [
      schedule({ publisher: 0, startMs, rate: 100, count: 10 }),
      schedule({ publisher: 1, startMs: startMs + 5, rate: 50, count: 6 }),
    ];
    const reports = await Promise.all(
      plans.map((plan) => new OpenLoopPublisher(sink, plan, scheduler).run()),
    );
    expect(reports.map((report) => report.sent)).toEqual([10, 6]);
    for (const plan of plans) {
      const own = sent.filter(({ message }) => message.publisher === plan.publisher);
      expect(own.map(({ message }) => message.seq)).toEqual([...Array(plan.count).keys()]);
      for (const { message } of own) {
        expect(message.scheduledMs).toBe(scheduledAt(plan, message.seq));
      }
    }
  });

  it('stops at `stop` and resolves with what it sent so far', async () => {
    const { sent, sink } = capture();
    const publisher = new OpenLoopPublisher(
      sink,
      schedule({ rate: 100, count: 1_000 }),
      new PreciseScheduler(),
    );
    const running = publisher.run();
    while (publisher.sent < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    publisher.stop();
    const report = await running;
    expect(report.sent).toBe(sent.length);
    expect(report.lag.totalCount).toBe(sent.length);
    expect(report.sent).toBeLessThan(1_000);
  });
});

describe('the open-loop publisher does not hide a stall (no coordinated omission)', () => {
  it('keeps the schedule through a stall of its own thread: what came due in it goes out late, and the lateness is recorded', async () => {
    const { sent, sink } = capture();
    const plan = schedule({ topics: ['co/t'] });
    const running = new OpenLoopPublisher(sink, plan, new PreciseScheduler()).run();
    // 100 ms into the run (message 20 is due), the thread stalls for 150 ms.
    setTimeout(() => stall(150), 120);
    const report = await running;

    // The schedule itself never moved: message n was due at start + 5 ms · n.
    expect(sent).toHaveLength(60);
    for (const { message } of sent) {
      expect(message.scheduledMs).toBeCloseTo(plan.startMs + message.seq * 5, 6);
    }
    // Messages due during the stall were sent late, in a burst, and carry that lateness: a
    // closed-loop client would have sent them after the stall and measured none of it.
    const inStall = sent.filter(({ message }) => message.seq >= 22 && message.seq <= 45);
    const late = inStall.filter(({ message, atMs }) => atMs - message.scheduledMs > 50);
    expect(late.length).toBeGreaterThan(inStall.length / 2);
    expect(report.lag.maxValue).toBeGreaterThan(120_000);
  });

  it('keeps a worker publisher on schedule through a stall of the harness thread, where the stall shows as delay', async () => {
    await using dir = await tempDir('mqfed-co-');
    await using federation = await startLocalFederation({
      dataDir: dir.path,
      brokers: ['a'],
      logLevel: 'silent',
    });
    const url = federation.broker('a').mqttUrl;
    const subscriber = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const publisher = await localClients.publisher(url, 'co-publisher');
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
      const plan = schedule({ topics: ['co/t'], count, startMs: nowMs() + 50 });
      const sending = publisher.run(plan);
      // 100 ms into the run (message 20 is due), this thread stalls for 150 ms.
      setTimeout(() => stall(150), 150);
      const report = await sending;
      await all;

      expect(report.sent).toBe(count);
      expect(report.lag.totalCount).toBe(count);
      // The publisher's thread was not the one stalled: no message went out 150 ms late.
      expect(report.lag.maxValue).toBeLessThan(150_000);
      for (const [seq, { scheduled }] of delays) {
        expect(scheduled).toBeCloseTo(plan.startMs + seq * 5, 6);
      }
      // The subscriber's thread was: messages due in the stall arrived late, from the schedule.
      const inStall = [...delays].filter(([seq]) => seq >= 22 && seq <= 45);
      const late = inStall.filter(([, { delay }]) => delay > 50);
      expect(late.length).toBeGreaterThan(inStall.length / 2);
    } finally {
      await publisher.end();
      await subscriber.endAsync(true);
    }
  });
});
