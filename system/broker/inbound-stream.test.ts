import { describe, expect, it, vi } from 'vitest';
import { sqliteStores } from './federation-db.fixtures.ts';
import { createMemoryStore } from './federation-store.ts';
import { InboundStream, type InFlight } from './inbound-stream.ts';

const ORIGIN = 'origin-broker';
const STREAM = 'stream-one-0123456789';
const OTHER_STREAM = 'stream-two-0123456789';

/** Accepts `seq`, which must be fresh, and returns its delivery (not finished yet). */
function take(inbound: InboundStream, seq: number, qos: 0 | 1 = 1): InFlight {
  const verdict = inbound.accept(seq, qos);
  if (!verdict.fresh) throw new Error(`seq ${seq} was refused as a duplicate`);
  return verdict.delivery;
}

/** Accepts and finishes each number in turn, as a peer link does with an in-order stream. */
function deliver(inbound: InboundStream, ...seqs: number[]): void {
  for (const seq of seqs) inbound.done(take(inbound, seq));
}

/** The verdict without its delivery handle, to compare whole. */
function verdict(inbound: InboundStream, seq: number) {
  const { fresh, ...rest } = inbound.accept(seq);
  return fresh ? { fresh, gap: (rest as { gap: number }).gap } : { fresh };
}

const gapOf = (inbound: InboundStream, seq: number) => {
  const result = inbound.accept(seq);
  return result.fresh ? result.gap : undefined;
};

describe('InboundStream: what is new and what is a duplicate', () => {
  it('accepts an unknown stream from the first number it sees, and asks for it from 0', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    expect(inbound.begin(STREAM)).toBe(0);
    // The sender may have dropped the first ones at its bound: whatever comes first is new.
    const seven = inbound.accept(7);
    expect(seven).toMatchObject({ fresh: true, gap: 0 });
    expect(inbound.done((seven as { delivery: InFlight }).delivery)).toBe(8);
  });

  it('refuses numbers below the next expected one as duplicates, however often they come', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    deliver(inbound, 0, 1, 2);
    for (const seq of [0, 1, 2, 1, 0]) expect(inbound.accept(seq)).toEqual({ fresh: false });
    expect(verdict(inbound, 3)).toEqual({ fresh: true, gap: 0 });
  });

  it('a duplicate of a publish still being delivered is refused too', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    const zero = take(inbound, 0);
    expect(inbound.accept(0).fresh).toBe(false);
    expect(inbound.done(zero)).toBe(1);
  });
});

describe('InboundStream: acknowledgement', () => {
  it('acknowledges only the contiguous prefix of finished deliveries', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    const [d0, d1, d2, d3] = [0, 1, 2, 3].map((seq) => take(inbound, seq)) as InFlight[];
    // Finished out of order: nothing can be acknowledged while 0 is still on its way.
    expect(inbound.done(d2!)).toBeUndefined();
    expect(inbound.done(d1!)).toBeUndefined();
    expect(inbound.done(d0!)).toBe(3);
    expect(inbound.done(d3!)).toBe(4);
    expect(inbound.save()).toBe(4);
  });

  it('a done that moves nothing answers undefined, also when repeated', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    const d0 = take(inbound, 0);
    const d1 = take(inbound, 1);
    expect(inbound.done(d1)).toBeUndefined();
    expect(inbound.done(d0)).toBe(2);
    expect(inbound.done(d0)).toBeUndefined();
    expect(inbound.done(d1)).toBeUndefined();
  });

  it('stays correct past the point where it compacts its in-flight list', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    const deliveries = Array.from({ length: 1_000 }, (_, seq) => take(inbound, seq));
    // Finish every odd one first, then the even ones: the acknowledgement follows the evens.
    for (let seq = 1; seq < 1_000; seq += 2) expect(inbound.done(deliveries[seq]!)).toBeUndefined();
    for (let seq = 0; seq < 1_000; seq += 2) expect(inbound.done(deliveries[seq]!)).toBe(seq + 2);
    deliver(inbound, 1_000, 1_001);
    expect(inbound.save()).toBe(1_002);
  });
});

describe('InboundStream across reconnects', () => {
  it('keeps its state when the same stream comes back, and says where to resume', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    deliver(inbound, 0, 1, 2);
    expect(inbound.begin(STREAM)).toBe(3);
    // The sender resends what it had no acknowledgement for: refused.
    expect(inbound.accept(2).fresh).toBe(false);
    expect(inbound.accept(3).fresh).toBe(true);
  });

  it('a delivery that was in flight when the link dropped is not delivered twice, and still acknowledged', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    deliver(inbound, 0);
    const d1 = take(inbound, 1);
    // Reconnect: 1 is not finished, so the sender resumes (and resends) from 1.
    expect(inbound.begin(STREAM)).toBe(1);
    expect(inbound.accept(1).fresh).toBe(false);
    const d2 = take(inbound, 2);
    expect(inbound.done(d1)).toBe(2);
    expect(inbound.done(d2)).toBe(3);
  });

  it('forgets everything when the origin names a new stream', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    deliver(inbound, 0, 1, 2, 3, 4);
    expect(inbound.begin(OTHER_STREAM)).toBe(0);
    const zero = inbound.accept(0);
    expect(zero).toMatchObject({ fresh: true, gap: 0 });
    expect(inbound.done((zero as { delivery: InFlight }).delivery)).toBe(1);
  });

  it('a new stream is not held back by deliveries of the old one still in flight', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    deliver(inbound, 0, 1, 2, 3, 4);
    take(inbound, 5);
    inbound.begin(OTHER_STREAM);
    deliver(inbound, 0, 1);
    expect(inbound.save()).toBe(2);
  });

  it('a late completion of the old stream does not acknowledge the new stream’s publish of the same number', () => {
    // An origin restarted without a data directory numbers its new stream from 0 again, while
    // deliveries of its old stream may still be finishing here.
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    const oldZero = take(inbound, 0);
    inbound.begin(OTHER_STREAM);
    const newZero = take(inbound, 0);
    // The local broker finishes the old stream's 0: the new 0 is still on its way.
    expect(inbound.done(oldZero), 'acknowledged before it was delivered').toBeUndefined();
    expect(inbound.save()).toBe(0);
    expect(inbound.done(newZero)).toBe(1);
  });
});

describe('InboundStream: positions in the store', () => {
  const { open } = sqliteStores('mqfed-inbound-stream-');

  it('after a restart refuses what it acknowledged before and resumes where it stood', () => {
    const first = open();
    const before = new InboundStream(ORIGIN, first);
    before.begin(STREAM);
    deliver(before, 0, 1, 2, 3);
    expect(before.save()).toBe(4);
    first.close();

    const after = new InboundStream(ORIGIN, open());
    expect(after.begin(STREAM)).toBe(4);
    for (const seq of [0, 1, 2, 3]) expect(after.accept(seq).fresh).toBe(false);
    expect(verdict(after, 4)).toEqual({ fresh: true, gap: 0 });
  });

  it('what was finished but not saved is delivered again after a restart: at least once', () => {
    const before = new InboundStream(ORIGIN, open());
    before.begin(STREAM);
    deliver(before, 0, 1);
    before.save();
    deliver(before, 2, 3);

    const after = new InboundStream(ORIGIN, open());
    expect(after.begin(STREAM)).toBe(2);
    expect(after.accept(2).fresh).toBe(true);
  });

  it('a saved position is for its stream only: a new stream after the restart starts from 0', () => {
    const before = new InboundStream(ORIGIN, open());
    before.begin(STREAM);
    deliver(before, 0, 1, 2);
    before.save();

    const after = new InboundStream(ORIGIN, open());
    expect(after.begin(OTHER_STREAM)).toBe(0);
    expect(after.accept(0).fresh).toBe(true);
  });

  it('keeps each origin apart', () => {
    const store = open();
    const a = new InboundStream('origin-a', store);
    const b = new InboundStream('origin-b', store);
    a.begin(STREAM);
    b.begin(STREAM);
    deliver(a, 0, 1, 2);
    deliver(b, 0);
    a.save();
    b.save();
    expect(store.inboundPosition('origin-a')).toEqual({ stream: STREAM, next: 3 });
    expect(store.inboundPosition('origin-b')).toEqual({ stream: STREAM, next: 1 });
  });

  it('saves no position for QoS 0 deliveries alone; a restart after them takes the next number without a gap', () => {
    const store = open();
    const writes = vi.spyOn(store, 'saveInboundPosition');
    const before = new InboundStream(ORIGIN, store);
    before.begin(STREAM);
    before.done(take(before, 0, 1));
    expect(before.save()).toBe(1);
    expect(writes).toHaveBeenCalledTimes(1);
    for (const seq of [1, 2, 3]) before.done(take(before, seq, 0));
    // Acknowledged up to 4, but only the QoS 1 delivery needed to be on disk.
    expect(before.save()).toBe(4);
    expect(writes).toHaveBeenCalledTimes(1);
    store.close();

    // The sender trimmed 1 to 3 on that PUBACK and keeps no QoS 0 publish: it resends from 4.
    const after = new InboundStream(ORIGIN, open());
    expect(after.begin(STREAM)).toBe(1);
    expect(verdict(after, 4)).toEqual({ fresh: true, gap: 0 });
  });

  it('saves the position once a QoS 1 delivery is passed, even behind QoS 0 ones', () => {
    const store = createMemoryStore();
    const inbound = new InboundStream(ORIGIN, store);
    inbound.begin(STREAM);
    const zero = take(inbound, 0, 0);
    const one = take(inbound, 1, 1);
    expect(inbound.done(one)).toBeUndefined();
    expect(inbound.unsaved).toBe(false);
    expect(inbound.done(zero)).toBe(2);
    expect(inbound.unsaved).toBe(true);
    expect(inbound.save()).toBe(2);
    expect(inbound.unsaved).toBe(false);
    expect(store.inboundPosition(ORIGIN)).toEqual({ stream: STREAM, next: 2 });
  });

  it('saves nothing before a stream was named', () => {
    const store = createMemoryStore();
    const inbound = new InboundStream(ORIGIN, store);
    expect(inbound.save()).toBe(0);
    expect(store.inboundPosition(ORIGIN)).toBeUndefined();
  });
});

describe('InboundStream: gaps', () => {
  it('counts numbers skipped within a connection', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    expect(gapOf(inbound, 0)).toBe(0);
    expect(gapOf(inbound, 3)).toBe(2);
    expect(gapOf(inbound, 4)).toBe(0);
    expect(gapOf(inbound, 10)).toBe(5);
  });

  it('a skip does not hold the acknowledgement back', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    deliver(inbound, 0);
    expect(inbound.done(take(inbound, 5))).toBe(6);
  });

  it('does not count a skip at the first publish of a connection: the sender may have dropped them at its bound', () => {
    const inbound = new InboundStream(ORIGIN, createMemoryStore());
    inbound.begin(STREAM);
    deliver(inbound, 0, 1);
    expect(inbound.begin(STREAM)).toBe(2);
    const ten = inbound.accept(10);
    expect(ten).toMatchObject({ fresh: true, gap: 0 });
    // And the acknowledgement moves past what was skipped.
    expect(inbound.done((ten as { delivery: InFlight }).delivery)).toBe(11);
    expect(gapOf(inbound, 12)).toBe(1);
  });
});
