import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { deliveryDup } from './delivery-dup.ts';

const clientWith = (qos: number[]) =>
  ({
    subscriptions: Object.fromEntries(qos.map((q, i) => [`t/${i}`, { qos: q }])),
  }) as unknown as Client;

describe('the DUP flag of a delivery', () => {
  it('is left alone, and the packet not copied, when nothing may repeat', () => {
    const packet = { qos: 1, dup: false };
    expect(deliveryDup(clientWith([1]), packet, false)).toBe(packet);
  });

  it('is set at QoS 1 for a delivery that may repeat one', () => {
    expect(deliveryDup(clientWith([1, 2]), { qos: 1, dup: false }, true)).toEqual({
      qos: 1,
      dup: true,
    });
  });

  it('keeps the DUP of a resend', () => {
    const packet = { qos: 1, dup: true };
    expect(deliveryDup(clientWith([1]), packet, false)).toBe(packet);
  });

  it('is never set at QoS 0, nor for a client whose QoS 0 subscription downgrades it', () => {
    expect(deliveryDup(clientWith([1]), { qos: 0, dup: true }, true)).toEqual({
      qos: 0,
      dup: false,
    });
    expect(deliveryDup(clientWith([1, 0]), { qos: 1, dup: true }, false)).toEqual({
      qos: 1,
      dup: false,
    });
  });
});
