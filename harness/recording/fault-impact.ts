import type { FaultAction } from '../topology/topology.ts';
import type { ExpectedDelivery } from './delivery-recorder.ts';

/** A fault as it was carried out, in the clock of the run (ms, like scheduled times). */
export interface AppliedFault {
  action: FaultAction;
  broker: string;
  /** When it began and when the topology had carried it out. */
  startMs: number;
  doneMs: number;
  /** Why it failed, if it did. */
  error?: string;
}

/** Counts of a set of deliveries. */
export interface DeliveryCounts {
  sent: number;
  received: number;
  lost: number;
}

/** One broker out of service: from the fault that took it down to the one that brought it back. */
export interface Outage {
  broker: string;
  down: FaultAction;
  up: FaultAction | null;
  /** When the down fault began, and when the up fault was done; ms after the schedule began. */
  downAtMs: number;
  upAtMs: number | null;
  /**
   * From `upAtMs` until every path through the broker delivered again (by the scheduled time of
   * the first message to get through on the slowest path); null if some path never did.
   */
  recoveryMs: number | null;
  /**
   * Deliveries to or from the broker's clients scheduled while it was down; for a link cut,
   * those across its links.
   */
  whileDown: DeliveryCounts;
  /** Deliveries on every other path from the fault until recovery: what the federation kept. */
  surviving: DeliveryCounts;
}

const DOWN: ReadonlySet<FaultAction> = new Set([
  'kill',
  'stop',
  'pause',
  'disconnect',
  'cut-links',
]);
const UP_AFTER: Record<string, FaultAction> = {
  kill: 'restart',
  stop: 'restart',
  pause: 'resume',
  disconnect: 'reconnect',
  'cut-links': 'restore-links',
};

export interface FaultImpactInput {
  faults: readonly AppliedFault[];
  /** Walks every expected delivery (DeliveryRecorder.forEachDelivery). */
  deliveries: (visit: (delivery: ExpectedDelivery) => void) => void;
  publisherBroker: (publisher: number) => string;
  subscriberBrokerAt: (subscriber: number, timeMs: number) => string;
  scheduleStartMs: number;
  /** The end of the schedule: an outage never brought back lasts until then. */
  endMs: number;
}

/**
 * Pairs each broker's down fault with the up fault that follows it and measures what the outage
 * cost. [design] A delivery is on a path through the broker when its publisher is on the broker,
 * or its subscriber was at the message's scheduled time: federation links between other brokers
 * never pass through a third one, so every other path should carry on untouched. When only the
 * broker's peer links were cut (`cut-links`), its own clients still reach it: a path goes
 * through the cut when exactly one of its ends is on the broker, and a path within the broker
 * is one of the surviving ones.
 */
export function outagesOf(input: FaultImpactInput): Outage[] {
  const windows: { broker: string; down: AppliedFault; up: AppliedFault | undefined }[] = [];
  const open = new Map<string, AppliedFault>();
  for (const fault of input.faults) {
    if (fault.error !== undefined) continue;
    const down = open.get(fault.broker);
    if (DOWN.has(fault.action)) {
      if (down === undefined) open.set(fault.broker, fault);
    } else if (down !== undefined && UP_AFTER[down.action] === fault.action) {
      windows.push({ broker: fault.broker, down, up: fault });
      open.delete(fault.broker);
    } else if (down === undefined && fault.action === 'restart') {
      // A restart of a running broker is an outage of its own.
      windows.push({ broker: fault.broker, down: fault, up: fault });
    }
  }
  for (const [broker, down] of open) windows.push({ broker, down, up: undefined });
  return windows.map(({ broker, down, up }) => measure(input, broker, down, up));
}

function measure(
  input: FaultImpactInput,
  broker: string,
  down: AppliedFault,
  up: AppliedFault | undefined,
): Outage {
  const downAt = down.startMs;
  const upAt = up?.doneMs ?? input.endMs;
  const whileDown: DeliveryCounts = { sent: 0, received: 0, lost: 0 };
  const surviving: DeliveryCounts = { sent: 0, received: 0, lost: 0 };
  const linksOnly = down.action === 'cut-links';
  const through = (d: ExpectedDelivery) => {
    const fromHere = input.publisherBroker(d.publisher) === broker;
    const toHere = input.subscriberBrokerAt(d.subscriber, d.scheduledMs) === broker;
    return linksOnly ? fromHere !== toHere : fromHere || toHere;
  };
  /** Per affected pair: the first arrival scheduled after the broker came back. */
  const firstBack = new Map<string, number | undefined>();
  const others: ExpectedDelivery[] = [];
  const count = (counts: DeliveryCounts, arrived: boolean) => {
    counts.sent += 1;
    if (arrived) counts.received += 1;
    else counts.lost += 1;
  };
  input.deliveries((d) => {
    if (d.scheduledMs < downAt) return;
    if (!through(d)) {
      others.push(d);
      return;
    }
    if (d.scheduledMs < upAt) {
      count(whileDown, d.arrived);
      return;
    }
    if (up === undefined) return;
    // Visited in send order: the first arrival of a pair stays; until one, the pair is waiting.
    const pair = `${d.subscriber}:${d.publisher}`;
    if (firstBack.get(pair) === undefined)
      firstBack.set(pair, d.arrived ? d.scheduledMs : undefined);
  });
  const backs = [...firstBack.values()];
  const recovered =
    up === undefined || backs.some((back) => back === undefined)
      ? undefined
      : Math.max(upAt, ...(backs as number[]));
  const until = recovered ?? upAt;
  for (const d of others) if (d.scheduledMs < until) count(surviving, d.arrived);
  const relative = (ms: number) => Math.max(0, Math.round(ms - input.scheduleStartMs));
  return {
    broker,
    down: down.action,
    up: up?.action ?? null,
    downAtMs: relative(downAt),
    upAtMs: up === undefined ? null : relative(upAt),
    recoveryMs: recovered === undefined ? null : Math.round(recovered - upAt),
    whileDown,
    surviving,
  };
}
