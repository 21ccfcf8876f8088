import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PeerFrame, PublishFrame } from '../protocol/index.ts';
import { createBrokerMetrics } from './broker-metrics.ts';
import { createMemoryStore } from './federation-store.ts';
import { LinkInbound, QOS0_ACK_BATCH, QOS0_ACK_DELAY_MS } from './link-inbound.ts';
import type { PeerConnection } from './peer-connection.ts';

const PEER = 'peer-broker';
const STREAM = 'stream-one-0123456789';

/** A receiving half whose local broker delivers at once, and the PUBACKs it sent. */
function receiver() {
  const sent: PeerFrame[] = [];
  const store = createMemoryStore();
  const inbound = new LinkInbound(PEER, {
    store,
    metrics: createBrokerMetrics(new Registry(), {
      clients: () => 0,
      subscriptions: () => 0,
      linksByState: () => ({ connecting: 0, open: 0, idle: 0 }),
      outbox: () => ({ messages: 0, bytes: 0 }),
    }),
    deliver: (_frame, done) => done(),
    mayOffer: () => true,
    deny: () => {},
    send: (frame) => sent.push(frame),
  });
  const conn = { deliveryStarted() {}, deliveryDone() {}, close() {} } as unknown as PeerConnection;
  inbound.begin(STREAM);
  let seq = 0;
  const publish = (qos: 0 | 1, at = seq++) => {
    const frame: PublishFrame = {
      type: 'publish',
      qos,
      retain: false,
      dup: false,
      origin: PEER,
      seq: at,
      topic: 't/1',
      payload: new Uint8Array(2),
    };
    inbound.receive(frame, conn);
  };
  const acks = () => sent.map((frame) => (frame.type === 'puback' ? frame.next : frame.type));
  return { inbound, store, publish, acks };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LinkInbound: when PUBACKs go out', () => {
  it('acknowledges QoS 0 deliveries once, after the delay, however many came', async () => {
    vi.useFakeTimers();
    const { publish, acks, inbound } = receiver();
    for (let i = 0; i < 5; i += 1) {
      publish(0);
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(acks()).toEqual([]);
    await vi.advanceTimersByTimeAsync(QOS0_ACK_DELAY_MS);
    expect(acks()).toEqual([5]);
    inbound.close();
  });

  it('acknowledges a QoS 1 delivery in the same turn, with the QoS 0 ones before it', async () => {
    vi.useFakeTimers();
    const { publish, acks, store, inbound } = receiver();
    publish(0);
    publish(0);
    publish(1);
    await vi.advanceTimersToNextTimerAsync();
    expect(acks()).toEqual([3]);
    // Saved before it was sent: a restart does not deliver the QoS 1 publish again.
    expect(store.inboundPosition(PEER)).toEqual({ stream: STREAM, next: 3 });
    // The delayed PUBACK it replaced does not follow it.
    await vi.advanceTimersByTimeAsync(QOS0_ACK_DELAY_MS * 2);
    expect(acks()).toEqual([3]);
    inbound.close();
  });

  it('acknowledges at once when QOS0_ACK_BATCH deliveries are waiting, so the sender can forget them', async () => {
    vi.useFakeTimers();
    const { publish, acks, inbound } = receiver();
    for (let i = 0; i < QOS0_ACK_BATCH; i += 1) publish(0);
    await vi.advanceTimersToNextTimerAsync();
    expect(acks()).toEqual([QOS0_ACK_BATCH]);
    inbound.close();
  });

  it('acknowledges a duplicate in the same turn: the first PUBACK may have been lost', async () => {
    vi.useFakeTimers();
    const { publish, acks, inbound } = receiver();
    publish(1);
    await vi.advanceTimersToNextTimerAsync();
    publish(1, 0);
    await vi.advanceTimersToNextTimerAsync();
    expect(acks()).toEqual([1, 1]);
    inbound.close();
  });

  it('sends no delayed PUBACK once closed', async () => {
    vi.useFakeTimers();
    const { publish, acks, inbound } = receiver();
    publish(0);
    inbound.close();
    await vi.advanceTimersByTimeAsync(QOS0_ACK_DELAY_MS * 2);
    expect(acks()).toEqual([]);
  });
});
