import type { DeliveryAccount } from '../results/index.ts';
import { type PublishLedgerReport, RangeSet } from '../workload/publish-ledger.ts';
import type { DeliveryRecorder } from './delivery-recorder.ts';

/** What the accounting reads of a recorder, after its drain. */
export type AccountedRecorder = Pick<
  DeliveryRecorder,
  'forEachDelivery' | 'duplicatesByQos' | 'publisherOf'
>;

interface Tally {
  publishers: Set<number>;
  expected: number;
  delivered: number;
  lost: number;
  deliveredUnacknowledged: number;
}

/**
 * A variant run's delivery accounting, one row per QoS of delivery (the lower of publisher's and
 * subscriber's), from the recorder's expected deliveries and each publisher's ledger.
 * [design] A subscriber is owed what the publisher handed to its client at QoS 0, and at QoS 1
 * only what the broker acknowledged: a publish whose PUBACK never came was never the broker's
 * to deliver, so its absence is no loss of the federation's (it shows as `sent` above
 * `acknowledged` instead). Such a publish that arrived all the same (the broker took it, then
 * crashed before its PUBACK) is counted apart, so `delivered + lost = expected` holds exactly.
 * Only messages scheduled after the warm-up count, as everywhere in the results, and only those
 * scheduled while the subscriber had a session (`RecordedSubscriber.sessionAt`).
 */
export function accountDeliveries(
  recorder: AccountedRecorder,
  ledgers: readonly PublishLedgerReport[],
): DeliveryAccount[] {
  const handedOver = ledgers.map((ledger) => new RangeSet(ledger.handedOver));
  const acknowledged = ledgers.map((ledger) =>
    ledger.acknowledged === null ? undefined : new RangeSet(ledger.acknowledged),
  );
  const isOwed = owedByLedgers(ledgers, handedOver, acknowledged);
  const tallies = new Map<0 | 1, Tally>();
  recorder.forEachDelivery(({ publisher, seq, arrived, qos, session }) => {
    let tally = tallies.get(qos);
    if (tally === undefined) {
      tally = {
        publishers: new Set(),
        expected: 0,
        delivered: 0,
        lost: 0,
        deliveredUnacknowledged: 0,
      };
      tallies.set(qos, tally);
    }
    tally.publishers.add(publisher);
    // Published while a clean-session subscriber had no session (between brokers): MQTT owes
    // it nothing, so it is neither expected nor an unasked-for arrival.
    if (session === false) return;
    const owed = isOwed(publisher, seq, qos);
    if (owed) {
      tally.expected += 1;
      if (arrived) tally.delivered += 1;
      else tally.lost += 1;
    } else if (arrived) {
      tally.deliveredUnacknowledged += 1;
    }
  });
  const duplicates = recorder.duplicatesByQos();
  return [...tallies.entries()]
    .sort(([a], [b]) => a - b)
    .map(([qos, tally]) => {
      let sent = 0;
      let acked = 0;
      for (const publisher of tally.publishers) {
        const { firstMeasured } = recorder.publisherOf(publisher);
        sent += handedOver[publisher]?.countFrom(firstMeasured) ?? 0;
        acked += acknowledged[publisher]?.countFrom(firstMeasured) ?? 0;
      }
      return {
        qos,
        sent,
        acknowledged: qos === 1 ? acked : null,
        expected: tally.expected,
        delivered: tally.delivered,
        lost: tally.lost,
        duplicated: duplicates[qos],
        deliveredUnacknowledged: tally.deliveredUnacknowledged,
      };
    });
}

/**
 * The rule of what a subscriber is owed, from the publishers' ledgers: at QoS 0 what was handed
 * to the MQTT client, at QoS 1 what the broker acknowledged.
 */
export function owedByLedgers(
  ledgers: readonly PublishLedgerReport[],
  handedOver = ledgers.map((ledger) => new RangeSet(ledger.handedOver)),
  acknowledged = ledgers.map((ledger) =>
    ledger.acknowledged === null ? undefined : new RangeSet(ledger.acknowledged),
  ),
): (publisher: number, seq: number, qos: 0 | 1) => boolean {
  return (publisher, seq, qos) =>
    qos === 1
      ? (acknowledged[publisher]?.has(seq) ?? false)
      : (handedOver[publisher]?.has(seq) ?? false);
}
