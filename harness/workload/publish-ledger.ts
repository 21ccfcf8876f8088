import type { PublishLedgerReport } from '../seams/client-factory.ts';

export type { PublishLedgerReport } from '../seams/client-factory.ts';

/**
 * What one publisher's schedule did with each of its messages: handed to its MQTT client or not
 * (a QoS 0 publish on a closed connection is dropped), and, at QoS 1, acknowledged by the broker
 * (PUBACK) or not. The delivery accounting owes a subscriber only what was handed over, and at
 * QoS 1 only what the broker acknowledged. [design] Two bitsets of one bit per scheduled
 * message, sized before the schedule starts; they cross to the harness as ranges, which a
 * schedule without trouble makes one or two of.
 */
export class PublishLedger {
  readonly #count: number;
  readonly #handedOver: Uint8Array;
  readonly #acknowledged: Uint8Array | undefined;

  constructor(count: number, qos: 0 | 1) {
    this.#count = count;
    this.#handedOver = new Uint8Array(Math.ceil(count / 8));
    this.#acknowledged = qos === 1 ? new Uint8Array(Math.ceil(count / 8)) : undefined;
  }

  handedOver(seq: number): void {
    setBit(this.#handedOver, seq, this.#count);
  }

  /** A PUBACK for message `seq` (QoS 1; ignored at QoS 0). */
  acknowledged(seq: number): void {
    if (this.#acknowledged !== undefined) setBit(this.#acknowledged, seq, this.#count);
  }

  report(): PublishLedgerReport {
    return {
      handedOver: rangesOf(this.#handedOver, this.#count),
      acknowledged:
        this.#acknowledged === undefined ? null : rangesOf(this.#acknowledged, this.#count),
    };
  }
}

function setBit(bits: Uint8Array, seq: number, count: number): void {
  if (seq < 0 || seq >= count) return;
  bits[seq >>> 3] = bits[seq >>> 3]! | (1 << (seq & 7));
}

/** The set bits as sorted, flat [start, end) pairs. */
export function rangesOf(bits: Uint8Array, count: number): number[] {
  const ranges: number[] = [];
  let start = -1;
  for (let seq = 0; seq < count; seq++) {
    const set = (bits[seq >>> 3]! & (1 << (seq & 7))) !== 0;
    if (set && start < 0) start = seq;
    else if (!set && start >= 0) {
      ranges.push(start, seq);
      start = -1;
    }
  }
  if (start >= 0) ranges.push(start, count);
  return ranges;
}

/** A set of sequence numbers read from [start, end) pairs (sorted, not overlapping). */
export class RangeSet {
  readonly #ranges: readonly number[];

  constructor(ranges: readonly number[]) {
    this.#ranges = ranges;
  }

  has(seq: number): boolean {
    // The last range starting at or before seq, by binary search over the starts.
    let lo = 0;
    let hi = this.#ranges.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const start = this.#ranges[mid * 2]!;
      const end = this.#ranges[mid * 2 + 1]!;
      if (seq < start) hi = mid - 1;
      else if (seq >= end) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** How many members are at or above `first`. */
  countFrom(first: number): number {
    let total = 0;
    for (let i = 0; i < this.#ranges.length; i += 2) {
      const start = Math.max(first, this.#ranges[i]!);
      const end = this.#ranges[i + 1]!;
      if (end > start) total += end - start;
    }
    return total;
  }
}
