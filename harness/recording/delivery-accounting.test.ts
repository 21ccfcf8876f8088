import { describe, expect, it } from 'vitest';
import { mergeDeliveryAccounts } from '../results/index.ts';
import type { PublishLedgerReport } from '../workload/publish-ledger.ts';
import { accountDeliveries } from './delivery-accounting.ts';
import { DeliveryRecorder } from './delivery-recorder.ts';

const RUN = 3;
/** Two publishers on broker a, 10 msg/s from t = 1000: messages 0..9, 2..9 after the warm-up. */
const publisher = (qos: 0 | 1) => ({
  broker: 'a',
  startMs: 1_000,
  rate: 10,
  count: 10,
  topicCount: 1,
  qos,
});
const subscriber = (qos: 0 | 1) => ({
  brokerAt: () => 'b',
  moves: [],
  handoverWindowMs: 0,
  handoverLeadMs: 0,
  qos,
});
const message = (publisher: number, seq: number) => ({
  runId: RUN,
  publisher,
  seq,
  probe: false,
  scheduledMs: 1_000 + seq * 100,
});
/** [start, end) pairs from a list of sequence numbers. */
function ranges(seqs: readonly number[]): number[] {
  const out: number[] = [];
  for (const seq of [...seqs].sort((a, b) => a - b)) {
    if (out.length > 0 && out.at(-1) === seq) out[out.length - 1] = seq + 1;
    else out.push(seq, seq + 1);
  }
  return out;
}
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * Publisher 0 publishes at QoS 1, publisher 1 at QoS 0; subscriber 0 subscribes at QoS 1,
 * subscriber 1 at QoS 0, both to both publishers. Only subscriber 0's deliveries from
 * publisher 0 are made at QoS 1.
 */
function run(arrivals: readonly [subscriber: number, publisher: number, seq: number][]) {
  const recorder = new DeliveryRecorder({
    runId: RUN,
    publishers: [publisher(1), publisher(0)],
    subscribers: [subscriber(1), subscriber(0)],
    expectations: [0, 1].flatMap((s) =>
      [0, 1].map((p) => ({ subscriber: s, publisher: p, topicMatches: [true] })),
    ),
    scheduleStartMs: 1_000,
    warmupEndMs: 1_200,
  });
  for (const [s, p, seq] of arrivals)
    recorder.record(s, message(p, seq), message(p, seq).scheduledMs + 2);
  recorder.finish();
  return recorder;
}

const LEDGERS: PublishLedgerReport[] = [
  // Every message handed over; 8 and 9 never acknowledged (the run ended, or the broker died).
  { handedOver: ranges(upTo(10)), acknowledged: ranges(upTo(8)) },
  // Message 5 fell on a closed connection: never handed over.
  { handedOver: ranges(upTo(10).filter((seq) => seq !== 5)), acknowledged: null },
];

describe('the delivery accounting', () => {
  const arrivals: [number, number, number][] = [
    // QoS 1: 5 and 7 lost, 3 twice more, 9 arrived without its PUBACK.
    ...[2, 3, 4, 6, 9, 3, 3].map((seq) => [0, 0, seq] as [number, number, number]),
    // QoS 0 paths: all of publisher 1 but the one never sent; publisher 0 but 4; 2, 3, 4 (4 twice).
    ...[2, 3, 4, 6, 7, 8, 9].map((seq) => [0, 1, seq] as [number, number, number]),
    ...[2, 3, 5, 6, 7, 8, 9].map((seq) => [1, 0, seq] as [number, number, number]),
    ...[2, 3, 4, 4].map((seq) => [1, 1, seq] as [number, number, number]),
    // The warm-up's messages are not counted, not even as duplicates.
    [0, 0, 0],
    [0, 0, 0],
  ];

  it('owes QoS 1 subscribers only what was acknowledged, and QoS 0 ones what was handed over', () => {
    const rows = accountDeliveries(run(arrivals), LEDGERS);
    expect(rows).toEqual([
      {
        qos: 0,
        // Publisher 0 (8 after the warm-up, through subscriber 1) and publisher 1 (7).
        sent: 15,
        acknowledged: null,
        expected: 7 + 8 + 7,
        delivered: 7 + 7 + 3,
        lost: 0 + 1 + 4,
        duplicated: 1,
        deliveredUnacknowledged: 0,
      },
      {
        qos: 1,
        sent: 8,
        // 2..7 of the 8 after the warm-up.
        acknowledged: 6,
        expected: 6,
        delivered: 4,
        // 5 and 7; 8 was never acknowledged, so it is not the federation's loss.
        lost: 2,
        duplicated: 2,
        deliveredUnacknowledged: 1,
      },
    ]);
    for (const row of rows) expect(row.delivered + row.lost).toBe(row.expected);
  });

  it('counts a duplicate per subscriber: the same message at two subscribers is no duplicate', () => {
    const rows = accountDeliveries(
      run([
        [0, 1, 2],
        [1, 1, 2],
      ]),
      LEDGERS,
    );
    expect(rows.find((row) => row.qos === 0)?.duplicated).toBe(0);
  });

  it('sums the rows of each QoS over repetitions, and keeps none if one repetition has none', () => {
    const rows = accountDeliveries(run(arrivals), LEDGERS);
    const twice = mergeDeliveryAccounts([rows, rows])!;
    expect(twice.map((row) => [row.qos, row.sent, row.acknowledged, row.lost])).toEqual([
      [0, 30, null, 10],
      [1, 16, 12, 4],
    ]);
    expect(mergeDeliveryAccounts([rows, undefined])).toBeUndefined();
  });
});
