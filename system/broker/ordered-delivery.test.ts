import { describe, expect, it } from 'vitest';
import type { PublishFrame } from '../protocol/index.ts';
import { OrderedDelivery } from './ordered-delivery.ts';

const frame = (seq: number, qos: 0 | 1, retain = false): PublishFrame => ({
  type: 'publish',
  qos,
  retain,
  dup: false,
  origin: 'o',
  seq,
  topic: 't',
  payload: new Uint8Array(),
});

describe('ordered delivery to the local broker', () => {
  it('holds a QoS 0 publish (and all after it) until the QoS 1 ones before it are delivered', () => {
    const started: number[] = [];
    const pending = new Map<number, () => void>();
    const doneSeqs: number[] = [];
    const delivery = new OrderedDelivery((f, done) => {
      started.push(f.seq);
      pending.set(f.seq, done);
    });
    for (const [seq, qos] of [
      [0, 1],
      [1, 1],
      [2, 0],
      [3, 1],
      [4, 0],
    ] as const) {
      delivery.push(frame(seq, qos), () => doneSeqs.push(seq));
    }
    // QoS 1 publishes go at once; the QoS 0 one waits, and the QoS 1 behind it waits too.
    expect(started).toEqual([0, 1]);
    pending.get(0)!();
    expect(started).toEqual([0, 1]);
    pending.get(1)!();
    expect(started).toEqual([0, 1, 2, 3]);
    pending.get(2)!();
    pending.get(3)!();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    pending.get(4)!();
    expect(doneSeqs).toEqual([0, 1, 2, 3, 4]);
  });

  it('lets QoS 0 publishes through at once when no QoS 1 delivery is in flight', () => {
    const started: number[] = [];
    const delivery = new OrderedDelivery((f) => started.push(f.seq));
    for (const seq of [0, 1, 2]) delivery.push(frame(seq, 0), () => {});
    expect(started).toEqual([0, 1, 2]);
  });

  it('holds everything behind a retained publish (stored before it is dispatched) until it is delivered', () => {
    const started: number[] = [];
    const pending = new Map<number, () => void>();
    const delivery = new OrderedDelivery((f, done) => {
      started.push(f.seq);
      pending.set(f.seq, done);
    });
    delivery.push(frame(0, 0, true), () => {});
    delivery.push(frame(1, 0), () => {});
    delivery.push(frame(2, 1), () => {});
    delivery.push(frame(3, 1, true), () => {});
    expect(started).toEqual([0]);
    pending.get(0)!();
    // A retained one behind others starts with them: it is the slower, so it stays behind.
    expect(started).toEqual([0, 1, 2, 3]);
  });
});
