import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { DeliveryRecorder, type RecordedSubscriber } from './delivery-recorder.ts';

const RUN = 7;
/** One publisher on broker a: 10 msg/s from t = 1000, messages 0..9 due every 100 ms. */
const publisher = { broker: 'a', startMs: 1_000, rate: 10, count: 10, topicCount: 1 };
const message = (seq: number) => ({
  runId: RUN,
  publisher: 0,
  seq,
  probe: false,
  scheduledMs: 1_000 + seq * 100,
});

function recorderFor(subscriber: RecordedSubscriber) {
  return new DeliveryRecorder({
    runId: RUN,
    publishers: [publisher],
    subscribers: [subscriber],
    expectations: [{ subscriber: 0, publisher: 0, topicMatches: [true] }],
    scheduleStartMs: 1_000,
    warmupEndMs: 1_200,
  });
}

describe('the delivery recorder', () => {
  it('counts received, lost, duplicated and reordered deliveries after the warm-up', () => {
    const recorder = recorderFor({
      brokerAt: () => 'b',
      moves: [],
      handoverWindowMs: 0,
      handoverLeadMs: 0,
    });
    for (const seq of [0, 2, 3, 3, 5, 4, 9]) {
      recorder.record(0, message(seq), message(seq).scheduledMs + 5);
    }
    recorder.record(0, { ...message(6), runId: RUN + 1 }, 2_000); // another run's: ignored
    recorder.finish();
    const whole = recorder.summary();
    // Messages 2..9 are after the warm-up: 8 sent; 2, 3, 4, 5, 9 arrived.
    expect(whole).toMatchObject({ sent: 8, received: 5, lost: 3, duplicates: 1, reordered: 1 });
    expect(whole.latencyMs.p50).toBeCloseTo(5, 2);
    expect(decodeFromCompressedBase64(whole.histogram).totalCount).toBe(5);
    expect(recorder.summary({ path: 'same-broker' }).sent).toBe(0);
    expect(recorder.summary({ path: 'cross-broker' }).sent).toBe(8);
  });

  it('classifies by where the subscriber was, and by the handover window after a move', () => {
    const recorder = recorderFor({
      brokerAt: (t) => (t < 1_500 ? 'a' : 'b'),
      moves: [{ disconnectMs: 1_500 }],
      handoverWindowMs: 250,
      handoverLeadMs: 0,
    });
    for (const seq of [2, 3, 4, 8, 9])
      recorder.record(0, message(seq), message(seq).scheduledMs + 1);
    recorder.finish();
    // 2, 3, 4 on a (same broker); 5, 6, 7 in the window after the move (lost); 8, 9 steady on b.
    expect(recorder.summary({ path: 'same-broker' })).toMatchObject({ sent: 3, received: 3 });
    expect(recorder.summary({ phase: 'handover' })).toMatchObject({ sent: 3, lost: 3 });
    expect(recorder.summary({ path: 'cross-broker', phase: 'steady' })).toMatchObject({
      sent: 2,
      received: 2,
    });
  });

  it('counts a message sent just before a move in its handover window: it was in flight', () => {
    const recorder = recorderFor({
      brokerAt: (t) => (t < 1_500 ? 'a' : 'b'),
      moves: [{ disconnectMs: 1_500 }],
      handoverWindowMs: 250,
      handoverLeadMs: 100,
    });
    recorder.finish();
    // 4 (due at 1400, 100 ms before the move) joins 5, 6 and 7; it was still on a's path.
    expect(recorder.summary({ phase: 'handover' })).toMatchObject({ sent: 4, lost: 4 });
    expect(recorder.summary({ path: 'same-broker', phase: 'handover' }).sent).toBe(1);
  });

  it('gives percentiles within HDR precision of a sorted list of the delays', () => {
    const many = { ...publisher, rate: 1_000, count: 2_000 };
    const recorder = new DeliveryRecorder({
      runId: RUN,
      publishers: [many],
      subscribers: [{ brokerAt: () => 'a', moves: [], handoverWindowMs: 0, handoverLeadMs: 0 }],
      expectations: [{ subscriber: 0, publisher: 0, topicMatches: [true] }],
      scheduleStartMs: 1_000,
      warmupEndMs: 1_000,
    });
    const delays: number[] = [];
    for (let seq = 0; seq < many.count; seq++) {
      const delay = 0.05 + ((seq * 7919) % 2_000) / 100; // 0.05 .. 20 ms, shuffled
      delays.push(delay);
      const scheduledMs = 1_000 + seq;
      recorder.record(0, { ...message(seq), scheduledMs }, scheduledMs + delay);
    }
    recorder.finish();
    const sorted = delays.sort((x, y) => x - y);
    const oracle = (p: number) => sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
    const { latencyMs } = recorder.summary();
    for (const [p, value] of [
      [50, latencyMs.p50],
      [90, latencyMs.p90],
      [99, latencyMs.p99],
    ] as const) {
      expect(Math.abs(value - oracle(p)) / oracle(p)).toBeLessThan(0.002);
    }
    expect(latencyMs.max).toBeCloseTo(sorted.at(-1)!, 1);
  });
});
