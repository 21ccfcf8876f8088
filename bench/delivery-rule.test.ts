import { describe, expect, it } from 'vitest';
import { DeliveryRecorder } from '../harness/recording/delivery-recorder.ts';
import { failures, type JudgedRun, ledgerProgress, qos1Delivery } from './delivery-rule.ts';

const RUN = 7;
/**
 * One publisher on A and one subscriber on B, both at QoS 1, 10 msg/s from t = 1000: messages
 * 0..9, of which 2..9 come after the warm-up (as in a bench run, one path).
 */
function recorderWith(arrivals: readonly number[]): DeliveryRecorder {
  const recorder = new DeliveryRecorder({
    runId: RUN,
    publishers: [{ broker: 'a', startMs: 1_000, rate: 10, count: 10, topicCount: 1, qos: 1 }],
    subscribers: [
      { brokerAt: () => 'b', moves: [], handoverWindowMs: 0, handoverLeadMs: 0, qos: 1 },
    ],
    expectations: [{ subscriber: 0, publisher: 0, topicMatches: [true] }],
    scheduleStartMs: 1_000,
    warmupEndMs: 1_200,
  });
  for (const seq of arrivals) {
    const scheduledMs = 1_000 + seq * 100;
    recorder.record(
      0,
      { runId: RUN, publisher: 0, seq, probe: false, scheduledMs },
      scheduledMs + 3,
    );
  }
  recorder.finish();
  return recorder;
}

/** A ledger that handed over messages [0, handedOver) and has PUBACKs for the given ranges. */
const ledger = (handedOver: number, acknowledged: number[]) => ({
  handedOver: [0, handedOver],
  acknowledged,
});

describe('the QoS 1 account of a run', () => {
  it('owes every acknowledged publish after the warm-up, and counts duplicates apart', () => {
    // 2..9 measured; 4 arrives twice, 6 three times.
    const recorder = recorderWith([0, 1, 2, 3, 4, 4, 5, 6, 6, 6, 7, 8, 9]);
    expect(qos1Delivery(recorder, ledger(10, [0, 10]))).toEqual({
      sent: 8,
      acknowledged: 8,
      unacknowledged: 0,
      delivered: 8,
      lost: 0,
      duplicated: 3,
      deliveredUnacknowledged: 0,
    });
  });

  it('counts an acknowledged publish that never arrived as lost, and an unacknowledged one apart', () => {
    // 5 acknowledged and never delivered: lost. 8 and 9 never acknowledged: 8 arrived anyway,
    // 9 did not, and neither is loss.
    const recorder = recorderWith([2, 3, 4, 6, 7, 8]);
    expect(qos1Delivery(recorder, ledger(10, [0, 8]))).toEqual({
      sent: 8,
      acknowledged: 6,
      unacknowledged: 2,
      delivered: 5,
      lost: 1,
      duplicated: 0,
      deliveredUnacknowledged: 1,
    });
  });

  it('owes nothing that was never handed over (a run stopped early)', () => {
    const recorder = recorderWith([2, 3, 4]);
    expect(qos1Delivery(recorder, ledger(5, [0, 5]))).toMatchObject({
      sent: 3,
      acknowledged: 3,
      lost: 0,
    });
  });
});

describe('ledgerProgress', () => {
  it('counts what was handed over and acknowledged from the first measured message on', () => {
    expect(ledgerProgress(ledger(10, [0, 4, 6, 9]), 2)).toEqual({
      handedOver: 8,
      acknowledged: 5,
    });
    expect(ledgerProgress({ handedOver: [0, 10], acknowledged: null }, 2)).toEqual({
      handedOver: 8,
      acknowledged: 0,
    });
  });
});

describe('the pass rule of a throughput run', () => {
  const clean: JudgedRun = {
    qos: 0,
    lost: 0,
    delivery: null,
    stoppedEarly: false,
    latencyMs: { p99: 12 },
  };
  const qos1 = (delivery: Partial<NonNullable<JudgedRun['delivery']>>): JudgedRun => ({
    ...clean,
    qos: 1,
    delivery: {
      sent: 100,
      acknowledged: 100,
      unacknowledged: 0,
      delivered: 100,
      lost: 0,
      duplicated: 0,
      deliveredUnacknowledged: 0,
      ...delivery,
    },
  });

  it('passes a loss-free run under the p99 limit, at either QoS', () => {
    expect(failures(clean, 50)).toEqual([]);
    expect(failures(qos1({}), 50)).toEqual([]);
  });

  it('fails QoS 0 on any message lost, and on a p99 at or over the limit', () => {
    expect(failures({ ...clean, lost: 3 }, 50)).toEqual(['3 lost']);
    expect(failures({ ...clean, latencyMs: { p99: 50 } }, 50)).toEqual(['p99 ≥ 50 ms']);
  });

  it('passes QoS 1 with duplicates, and fails it on an acknowledged publish lost or one never acknowledged', () => {
    expect(failures(qos1({ duplicated: 40 }), 50)).toEqual([]);
    expect(failures(qos1({ delivered: 99, lost: 1 }), 50)).toEqual(['1 acknowledged lost']);
    expect(failures(qos1({ acknowledged: 97, unacknowledged: 3 }), 50)).toEqual([
      '3 without PUBACK',
    ]);
  });

  it('reads QoS 1 loss from the account, not from the count of what never arrived', () => {
    // Handed over, never acknowledged and never arrived: not loss, but not a pass either.
    const run = { ...qos1({ acknowledged: 99, unacknowledged: 1 }), lost: 1 };
    expect(failures(run, 50)).toEqual(['1 without PUBACK']);
  });

  it('fails a run that stopped early or lost its subscriber, whatever its figures', () => {
    expect(failures({ ...clean, stoppedEarly: true, latencyMs: { p99: 80 } }, 50)).toEqual([
      'stopped early',
    ]);
    // Its client ended with PUBACKs still on their way: those are no finding of their own.
    const stopped = { ...qos1({ acknowledged: 90, unacknowledged: 10 }), stoppedEarly: true };
    expect(failures(stopped, 50)).toEqual(['stopped early']);
    expect(failures({ ...clean, clientLost: 'the subscriber lost its connection' }, 50)).toEqual([
      'client lost',
    ]);
  });
});
