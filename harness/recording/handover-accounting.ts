import { durationHistogram, type HandoverStats, handoverDistribution } from '../results/index.ts';
import type { DeliveryRecorder } from './delivery-recorder.ts';
import { recordDelayMs } from './histogram.ts';

/** A mobile client as the handover accounting reads it, once the run has drained. */
export interface AccountedMobile {
  /** Its index among the run's subscribers (the recorder's). */
  subscriber: number;
  persistent: boolean;
  moves: readonly {
    connectSentMs?: number;
    connackMs?: number;
    firstMessageMs?: number;
  }[];
  /** CONNACKs after a move that said session present = 0 (persistent clients only). */
  sessionsLost: number;
}

/** Whether a message (publisher, sequence number, QoS of delivery) was owed at all. */
export type Owed = (publisher: number, seq: number, qos: 0 | 1) => boolean;

/**
 * A run's handover figures (docs/results.md): per move, transfer time (CONNECT → CONNACK at the
 * new broker) and first-message gap (CONNACK → first message after it); over the mobile clients,
 * deliveries owed and lost, messages a clean client missed while it had no session, duplicates
 * with and without the DUP flag, and persistent sessions not found after a move. Undefined
 * without mobile clients. [design] Owed is the delivery accounting's rule (`owed`) narrowed by
 * the session: the recorder's `session` says whether the client had one when the message was
 * scheduled, which a persistent client always has.
 */
export function accountHandovers(
  recorder: Pick<DeliveryRecorder, 'forEachDelivery' | 'duplicatesOf'>,
  mobiles: readonly AccountedMobile[],
  owed: Owed,
): HandoverStats | undefined {
  if (mobiles.length === 0) return undefined;
  const transfer = durationHistogram();
  const gap = durationHistogram();
  let handovers = 0;
  let flagged = 0;
  let unflagged = 0;
  const mobile = new Set<number>();
  for (const client of mobiles) {
    mobile.add(client.subscriber);
    handovers += client.moves.length;
    for (const move of client.moves) {
      const { connectSentMs, connackMs, firstMessageMs } = move;
      if (connectSentMs !== undefined && connackMs !== undefined && !Number.isNaN(connectSentMs)) {
        recordDelayMs(transfer, connackMs - connectSentMs);
      }
      if (connackMs !== undefined && firstMessageMs !== undefined && !Number.isNaN(connackMs)) {
        recordDelayMs(gap, firstMessageMs - connackMs);
      }
    }
    const duplicates = recorder.duplicatesOf(client.subscriber);
    flagged += duplicates.flagged;
    unflagged += duplicates.unflagged;
  }
  let owedCount = 0;
  let lost = 0;
  let missedWithoutSession = 0;
  recorder.forEachDelivery(({ subscriber, publisher, seq, qos, arrived, session }) => {
    if (!mobile.has(subscriber) || !owed(publisher, seq, qos)) return;
    if (session === false) {
      if (!arrived) missedWithoutSession += 1;
      return;
    }
    owedCount += 1;
    if (!arrived) lost += 1;
  });
  return {
    handovers,
    mobileClients: mobiles.length,
    persistentClients: mobiles.filter((client) => client.persistent).length,
    sessionPresentMisses: mobiles.reduce((total, client) => total + client.sessionsLost, 0),
    owed: owedCount,
    lost,
    missedWithoutSession,
    duplicates: { flagged, unflagged },
    transferMs: handoverDistribution(transfer),
    gapMs: handoverDistribution(gap),
  };
}
