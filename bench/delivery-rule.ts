import {
  type AccountedRecorder,
  accountDeliveries,
} from '../harness/recording/delivery-accounting.ts';
import { type PublishLedgerReport, RangeSet } from '../harness/workload/publish-ledger.ts';

/**
 * What a QoS 1 run owed its subscriber and what it got, after the drain, counted after the
 * warm-up. [design] At QoS 1 the broker owes a delivery once it has acknowledged the publish
 * (PUBACK): `lost` counts acknowledged publishes that never arrived, `unacknowledged` the
 * publishes handed to the client whose PUBACK had not come by the end of the drain (the broker
 * had not taken them: not loss, but a broker that falls behind on acknowledging), and
 * `duplicated` the arrivals of a message the subscriber already had, which at-least-once allows.
 */
export interface Qos1Delivery {
  /** Publishes handed to the publisher's MQTT client. */
  sent: number;
  /** Of those, the ones the broker acknowledged by the end of the drain. */
  acknowledged: number;
  /** sent − acknowledged. */
  unacknowledged: number;
  /** Acknowledged publishes that arrived at least once. */
  delivered: number;
  /** Acknowledged publishes that never arrived. */
  lost: number;
  /** Arrivals of a message the subscriber had already received. */
  duplicated: number;
  /** Unacknowledged publishes that arrived all the same. */
  deliveredUnacknowledged: number;
}

/** The QoS 1 account of a run of one publisher and one subscriber, from the testbed's accounting. */
export function qos1Delivery(
  recorder: AccountedRecorder,
  ledger: PublishLedgerReport,
): Qos1Delivery {
  const row = accountDeliveries(recorder, [ledger]).find((account) => account.qos === 1);
  if (row === undefined) {
    return {
      sent: 0,
      acknowledged: 0,
      unacknowledged: 0,
      delivered: 0,
      lost: 0,
      duplicated: 0,
      deliveredUnacknowledged: 0,
    };
  }
  const acknowledged = row.acknowledged ?? 0;
  return {
    sent: row.sent,
    acknowledged,
    unacknowledged: row.sent - acknowledged,
    delivered: row.delivered,
    lost: row.lost,
    duplicated: row.duplicated,
    deliveredUnacknowledged: row.deliveredUnacknowledged,
  };
}

/** How many of a ledger's messages from `first` on were handed over, and acknowledged. */
export function ledgerProgress(
  ledger: PublishLedgerReport,
  first: number,
): { handedOver: number; acknowledged: number } {
  return {
    handedOver: new RangeSet(ledger.handedOver).countFrom(first),
    acknowledged:
      ledger.acknowledged === null ? 0 : new RangeSet(ledger.acknowledged).countFrom(first),
  };
}

/** What the pass rule reads of a run. */
export interface JudgedRun {
  qos: 0 | 1;
  /** Handed over and never arrived (the recorder's count). */
  lost: number;
  delivery: Qos1Delivery | null;
  stoppedEarly: boolean;
  clientLost?: string;
  latencyMs: { p99: number };
}

/**
 * The pass rule of a throughput run: loss-free and p99 under the limit. Loss-free at QoS 0:
 * every message handed over arrived. At QoS 1: every publish acknowledged, and every
 * acknowledged one arrived at least once within the drain; duplicates are shown, not failed.
 * Returns why it failed; empty when it passed.
 */
export function failures(run: JudgedRun, p99LimitMs: number): string[] {
  const why: string[] = [];
  if (run.clientLost !== undefined) why.push('client lost');
  if (run.stoppedEarly) why.push('stopped early');
  if (run.qos === 0 || run.delivery === null) {
    if (run.lost > 0) why.push(`${run.lost} lost`);
  } else {
    if (run.delivery.lost > 0) why.push(`${run.delivery.lost} acknowledged lost`);
    // A run stopped early ended its client: PUBACKs still on their way never came.
    if (run.delivery.unacknowledged > 0 && !run.stoppedEarly) {
      why.push(`${run.delivery.unacknowledged} without PUBACK`);
    }
  }
  if (!run.stoppedEarly && !(run.latencyMs.p99 < p99LimitMs)) {
    why.push(`p99 ≥ ${p99LimitMs} ms`);
  }
  return why;
}
