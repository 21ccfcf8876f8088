import { describe, expect, it } from 'vitest';
import { accountDeliveries, owedByLedgers } from './delivery-accounting.ts';
import { DeliveryRecorder } from './delivery-recorder.ts';
import { accountHandovers } from './handover-accounting.ts';

const RUN = 5;
/** One QoS 1 publisher, 10 msg/s from t = 1000: messages 0..9, all after the warm-up. */
const publisher = {
  broker: 'a',
  startMs: 1_000,
  rate: 10,
  count: 10,
  topicCount: 1,
  qos: 1 as const,
};
const message = (seq: number) => ({
  runId: RUN,
  publisher: 0,
  seq,
  probe: false,
  scheduledMs: 1_000 + seq * 100,
});
/** Every message handed over; all but the last acknowledged. */
const ledger = { handedOver: [0, 10], acknowledged: [0, 9] };

/**
 * Two mobile subscribers of the publisher that moved once, at t = 1300, and could receive again
 * at t = 1600: 0 keeps a persistent session, 1 a clean one (no session from 1300 to 1600, so
 * messages 3, 4 and 5 are not owed to it).
 */
function recorded(arrivals: readonly (readonly [subscriber: number, seq: number, dup: boolean])[]) {
  const moves = [{ disconnectMs: 1_300, connectSentMs: 1_310, connackMs: 1_330, readyMs: 1_600 }];
  const sessionAt = (persistent: boolean) => (timeMs: number) =>
    persistent || timeMs < 1_300 || timeMs >= 1_600;
  const recorder = new DeliveryRecorder({
    runId: RUN,
    publishers: [publisher],
    subscribers: [true, false].map((persistent) => ({
      brokerAt: () => 'b',
      moves,
      handoverWindowMs: 500,
      handoverLeadMs: 0,
      qos: 1 as const,
      sessionAt: sessionAt(persistent),
    })),
    expectations: [0, 1].map((s) => ({ subscriber: s, publisher: 0, topicMatches: [true] })),
    scheduleStartMs: 1_000,
    warmupEndMs: 1_000,
  });
  for (const [s, seq, dup] of arrivals) {
    recorder.record(s, message(seq), message(seq).scheduledMs + 2, dup);
  }
  recorder.finish();
  return { recorder, moves };
}

describe('the handover accounting', () => {
  it('owes a persistent client everything, a clean one nothing published while it had no session', () => {
    // Both miss 3, 4 and 5 (published while they moved) and 7; both get 2 twice, 0 with DUP.
    const got = [0, 1, 2, 6, 8, 9];
    const { recorder, moves } = recorded([
      ...got.flatMap((seq) => [[0, seq, false] as const, [1, seq, false] as const]),
      [0, 2, true],
      [1, 2, false],
    ]);
    const stats = accountHandovers(
      recorder,
      [
        {
          subscriber: 0,
          persistent: true,
          moves: [{ ...moves[0]!, firstMessageMs: 1_340 }],
          sessionsLost: 1,
        },
        { subscriber: 1, persistent: false, moves, sessionsLost: 0 },
      ],
      owedByLedgers([ledger]),
    )!;
    // Message 9 was never acknowledged: owed to neither. Persistent: 0..8 owed, 3, 4, 5 and 7
    // lost. Clean: 0..8 less 3, 4, 5 owed, 7 lost, and 3, 4, 5 missed without a session.
    expect(stats).toMatchObject({
      handovers: 2,
      mobileClients: 2,
      persistentClients: 1,
      sessionPresentMisses: 1,
      owed: 9 + 6,
      lost: 4 + 1,
      missedWithoutSession: 3,
      duplicates: { flagged: 1, unflagged: 1 },
    });
    expect(stats.transferMs.count).toBe(2);
    expect(stats.transferMs.p50).toBeCloseTo(20, 1);
    // Only the move after which a message came has a gap: CONNACK at 1330 → 1340.
    expect(stats.gapMs.count).toBe(1);
    expect(stats.gapMs.max).toBeCloseTo(10, 1);

    // The delivery accounting applies the same session rule.
    const [row] = accountDeliveries(recorder, [ledger]);
    expect(row).toMatchObject({ qos: 1, expected: 15, delivered: 10, lost: 5, duplicated: 2 });
  });

  it('is absent without mobile clients', () => {
    const { recorder } = recorded([]);
    expect(accountHandovers(recorder, [], () => true)).toBeUndefined();
  });
});
