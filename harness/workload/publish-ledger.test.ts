import { describe, expect, it } from 'vitest';
import { PublishLedger, RangeSet, rangesOf } from './publish-ledger.ts';

describe('the ledger of a publisher', () => {
  it('reports what it handed over and what was acknowledged as ranges', () => {
    const ledger = new PublishLedger(10, 1);
    for (const seq of [0, 1, 2, 3, 5, 6, 9]) ledger.handedOver(seq);
    for (const seq of [1, 0, 6, 2]) ledger.acknowledged(seq);
    ledger.acknowledged(42); // out of the schedule: ignored
    expect(ledger.report()).toEqual({
      handedOver: [0, 4, 5, 7, 9, 10],
      acknowledged: [0, 3, 6, 7],
    });
  });

  it('has nothing to acknowledge at QoS 0', () => {
    const ledger = new PublishLedger(4, 0);
    ledger.handedOver(2);
    ledger.acknowledged(2);
    expect(ledger.report()).toEqual({ handedOver: [2, 3], acknowledged: null });
  });

  it('reads ranges back: membership and counts from a first message', () => {
    const bits = new Uint8Array(4);
    for (const seq of [1, 2, 3, 10, 30, 31]) bits[seq >>> 3]! |= 1 << (seq & 7);
    const ranges = rangesOf(bits, 32);
    expect(ranges).toEqual([1, 4, 10, 11, 30, 32]);
    const set = new RangeSet(ranges);
    expect([0, 1, 3, 4, 10, 11, 29, 30, 31, 32].map((seq) => set.has(seq))).toEqual([
      false,
      true,
      true,
      false,
      true,
      false,
      false,
      true,
      true,
      false,
    ]);
    expect(set.countFrom(0)).toBe(6);
    expect(set.countFrom(3)).toBe(4);
    expect(set.countFrom(31)).toBe(1);
    expect(new RangeSet([]).has(0)).toBe(false);
  });
});
