import { type Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Clock, createLogger } from '../common/index.ts';
import { manualClock } from '../common/testing.ts';
import { decodeFrame, encodeFrame, type PublishFrame } from '../protocol/index.ts';
import { type BrokerMetrics, createBrokerMetrics } from './broker-metrics.ts';
import { sqliteStores } from './federation-db.fixtures.ts';
import { createMemoryStore, type FederationStore } from './federation-store.ts';
import { InboundStream } from './inbound-stream.ts';
import type { PeerConnection } from './peer-connection.ts';
import { PeerOutbox, type PeerOutboxContext } from './peer-outbox.ts';

const SELF = 'self-broker';
const PEER = 'peer-broker';
const everything = () => true;

/** What PeerOutbox may use of a PeerConnection; anything else it touches fails the test. */
const CONNECTION_SURFACE = new Set(['sendEncoded', 'bufferedAmount', 'isOpen', 'send']);

interface FakeConnection {
  /** Every frame written, decoded from a copy of the bytes as they were at the write. */
  readonly frames: PublishFrame[];
  /** The exact buffers written, to check later that a resend did not change a first send. */
  readonly buffers: Buffer[];
  /** The members PeerOutbox read or called. */
  readonly used: Set<string>;
  /** Grows with every write, as a socket's buffer would; the test drains it. */
  bufferedAmount: number;
  isOpen: boolean;
  readonly conn: PeerConnection;
}

function fakeConnection(): FakeConnection {
  const fake = {
    frames: [] as PublishFrame[],
    buffers: [] as Buffer[],
    used: new Set<string>(),
    bufferedAmount: 0,
    isOpen: true,
  };
  const target = {
    get bufferedAmount() {
      return fake.bufferedAmount;
    },
    get isOpen() {
      return fake.isOpen;
    },
    sendEncoded(bytes: Buffer) {
      if (!fake.isOpen) return false;
      fake.buffers.push(bytes);
      fake.frames.push(decodeFrame(Buffer.from(bytes)) as PublishFrame);
      fake.bufferedAmount += bytes.length;
      return true;
    },
    send(): boolean {
      throw new Error('PeerOutbox sends encoded publishes only');
    },
  };
  const conn = new Proxy(target, {
    get(object, property, receiver) {
      if (typeof property === 'string') {
        if (!CONNECTION_SURFACE.has(property)) {
          throw new Error(`PeerOutbox used PeerConnection.${property}`);
        }
        fake.used.add(property);
      }
      return Reflect.get(object, property, receiver);
    },
  }) as unknown as PeerConnection;
  return Object.assign(fake, { conn });
}

interface Harness {
  ctx: PeerOutboxContext;
  metrics: BrokerMetrics;
  outbox(store?: FederationStore): PeerOutbox;
  dropped(reason: string): Promise<number>;
  denied(): Promise<number>;
}

const outboxes: PeerOutbox[] = [];
afterEach(() => {
  for (const outbox of outboxes.splice(0)) outbox.close();
  vi.useRealTimers();
});

function harness(options: Partial<PeerOutboxContext> = {}): Harness {
  const metrics = createBrokerMetrics(new Registry(), {
    clients: () => 0,
    subscriptions: () => 0,
    linksByState: () => ({ connecting: 0, open: 0, idle: 0 }),
    outbox: () => ({ messages: 0, bytes: 0 }),
  });
  const ctx: PeerOutboxContext = {
    selfId: SELF,
    store: createMemoryStore(),
    maxBytes: 1024 * 1024,
    maxAgeMs: 60_000,
    highWaterBytes: 1024 * 1024,
    clock: manualClock(),
    metrics,
    logger: createLogger('peer-outbox-test', 'silent'),
    ...options,
  };
  const counterValue = async (counter: Counter<string>, label: string, value: string) =>
    (await counter.get()).values.find((v) => v.labels[label] === value)?.value ?? 0;
  return {
    ctx,
    metrics,
    outbox(store = ctx.store) {
      const outbox = new PeerOutbox(PEER, { ...ctx, store });
      outboxes.push(outbox);
      return outbox;
    },
    dropped: (reason) => counterValue(metrics.outboxDropped, 'reason', reason),
    denied: () => counterValue(metrics.denials, 'code', 'SCOPE_DENIED'),
  };
}

/** Bytes of the PUBLISH frame PeerOutbox writes for this topic and payload size. */
function frameBytes(topic: string, payloadBytes: number): number {
  return encodeFrame({
    type: 'publish',
    qos: 1,
    retain: false,
    dup: false,
    origin: SELF,
    seq: 0,
    topic,
    payload: new Uint8Array(payloadBytes),
  }).length;
}

const seqs = (fake: FakeConnection) => fake.frames.map((frame) => frame.seq);
const text = (frame: PublishFrame) => Buffer.from(frame.payload).toString();
const bytes = (value: string) => Buffer.from(value);

describe('PeerOutbox: numbering, resuming and acknowledging', () => {
  it('uses nothing of its connection beyond sendEncoded, bufferedAmount, isOpen and send', () => {
    const h = harness({ highWaterBytes: 64 * 1024 });
    const outbox = h.outbox();
    const fake = fakeConnection();
    outbox.enqueue('t/1', bytes('a'), 1, false);
    outbox.attach(fake.conn);
    outbox.resume(0, everything);
    outbox.enqueue('t/1', bytes('b'), 0, false);
    expect(fake.frames).toHaveLength(2);
    // The proxy throws on anything outside CONNECTION_SURFACE; today these two are all it reads.
    expect(fake.used).toContain('sendEncoded');
    expect(fake.used).toContain('bufferedAmount');
  });

  it('sends nothing before resume, not even once a connection is attached', () => {
    const h = harness();
    const outbox = h.outbox();
    const fake = fakeConnection();
    outbox.enqueue('t/1', bytes('zero'), 1, false);
    outbox.attach(fake.conn);
    outbox.enqueue('t/1', bytes('one'), 0, true);
    expect(fake.frames).toEqual([]);
    expect(outbox.size).toBe(2);

    expect(outbox.resume(0, everything)).toBe(true);
    expect(fake.frames).toEqual([
      expect.objectContaining({ seq: 0, qos: 1, retain: false, dup: false, origin: SELF }),
      expect.objectContaining({ seq: 1, qos: 0, retain: true, dup: false, origin: SELF }),
    ]);
    expect(fake.frames.map(text)).toEqual(['zero', 'one']);
    expect(h.metrics.hot.forwarded).toBe(2);
  });

  it('resume(next) forgets what is numbered below next and sends the rest in order', () => {
    const h = harness();
    const outbox = h.outbox();
    for (let i = 0; i < 5; i += 1) outbox.enqueue('t/1', bytes(`m${i}`), 1, false);
    const fake = fakeConnection();
    outbox.attach(fake.conn);
    expect(outbox.resume(2, everything)).toBe(true);
    expect(seqs(fake)).toEqual([2, 3, 4]);
    expect(fake.frames.map(text)).toEqual(['m2', 'm3', 'm4']);
    expect(outbox.size).toBe(3);
  });

  it('sends a publish at once while streaming, numbered on', () => {
    const h = harness();
    const outbox = h.outbox();
    const fake = fakeConnection();
    outbox.attach(fake.conn);
    outbox.resume(0, everything);
    outbox.enqueue('t/1', bytes('a'), 0, false);
    outbox.enqueue('t/2', bytes('b'), 1, false);
    expect(fake.frames.map((f) => [f.seq, f.topic, text(f)])).toEqual([
      [0, 't/1', 'a'],
      [1, 't/2', 'b'],
    ]);
  });

  it('after a reconnect resends unacknowledged QoS 1 publishes with DUP, and never a QoS 0 one already sent', () => {
    const h = harness();
    const outbox = h.outbox();
    const first = fakeConnection();
    outbox.attach(first.conn);
    outbox.resume(0, everything);
    outbox.enqueue('t/1', bytes('q1-a'), 1, false); // 0
    outbox.enqueue('t/1', bytes('q0-b'), 0, false); // 1
    outbox.enqueue('t/1', bytes('q1-c'), 1, true); // 2
    outbox.enqueue('t/1', bytes('q1-d'), 1, false); // 3
    outbox.acknowledge(1);
    expect(seqs(first)).toEqual([0, 1, 2, 3]);

    // The link drops; publishes keep coming while it is down.
    outbox.attach(undefined);
    outbox.enqueue('t/1', bytes('q0-e'), 0, false); // 4, never sent: goes out once
    const second = fakeConnection();
    outbox.attach(second.conn);
    expect(second.frames).toEqual([]);
    expect(outbox.resume(1, everything)).toBe(true);

    expect(second.frames.map((f) => [f.seq, f.qos, f.dup, f.retain, text(f)])).toEqual([
      [2, 1, true, true, 'q1-c'],
      [3, 1, true, false, 'q1-d'],
      [4, 0, false, false, 'q0-e'],
    ]);
    // The first sends may still sit in a socket buffer: the resend must not have changed them.
    expect(first.buffers.map((b) => decodeFrame(b) as PublishFrame).map((f) => f.dup)).toEqual([
      false,
      false,
      false,
      false,
    ]);
    expect(h.metrics.hot.resent).toBe(2);
    expect(h.metrics.hot.forwarded).toBe(5);
  });

  it('acknowledge forgets publishes below next, and ignores what it already forgot', () => {
    const h = harness();
    const outbox = h.outbox();
    const fake = fakeConnection();
    outbox.attach(fake.conn);
    outbox.resume(0, everything);
    for (let i = 0; i < 4; i += 1) outbox.enqueue('t/1', bytes(`m${i}`), 1, false);
    const one = frameBytes('t/1', 2);
    expect(outbox.size).toBe(4);
    expect(outbox.bytes).toBe(4 * one);

    outbox.acknowledge(3);
    expect(outbox.size).toBe(1);
    expect(outbox.bytes).toBe(one);
    outbox.acknowledge(1);
    expect(outbox.size).toBe(1);
    outbox.acknowledge(4);
    expect(outbox.size).toBe(0);
    expect(outbox.bytes).toBe(0);

    // Nothing is resent on a reconnect: it was all acknowledged.
    const again = fakeConnection();
    outbox.attach(again.conn);
    outbox.resume(4, everything);
    expect(again.frames).toEqual([]);
  });
});

describe('PeerOutbox: bounds', () => {
  it('at the byte bound drops the oldest publishes and counts them as bytes', async () => {
    const one = frameBytes('t/1', 2);
    const h = harness({ maxBytes: 3 * one });
    const outbox = h.outbox();
    for (let i = 0; i < 5; i += 1) outbox.enqueue('t/1', bytes(`m${i}`), 1, false);
    expect(outbox.size).toBe(3);
    expect(outbox.bytes).toBe(3 * one);
    expect(await h.dropped('bytes')).toBe(2);

    const fake = fakeConnection();
    outbox.attach(fake.conn);
    outbox.resume(0, everything);
    expect(fake.frames.map(text)).toEqual(['m2', 'm3', 'm4']);
  });

  it('refuses a QoS 1 publish that alone exceeds the bound, but takes (and drops) a QoS 0 one', async () => {
    const h = harness({ maxBytes: 1024 });
    const outbox = h.outbox();
    outbox.enqueue('t/1', bytes('small'), 1, false);

    expect(outbox.enqueue('t/big', new Uint8Array(2000), 1, false)).toBe(false);
    expect(await h.dropped('refused')).toBe(1);
    expect(outbox.enqueue('t/big', new Uint8Array(2000), 0, false)).toBe(true);
    expect(await h.dropped('bytes')).toBe(1);
    // Neither took a place, nor pushed out what was waiting.
    expect(outbox.size).toBe(1);

    // A publish exactly at the bound still fits.
    const exact = 1024 - frameBytes('t/x', 0);
    const h2 = harness({ maxBytes: 1024 });
    expect(h2.outbox().enqueue('t/x', new Uint8Array(exact), 1, false)).toBe(true);

    const fake = fakeConnection();
    outbox.attach(fake.conn);
    outbox.resume(0, everything);
    outbox.enqueue('t/1', bytes('after'), 1, false);
    // No number was spent on what was refused: the peer sees no gap.
    expect(fake.frames.map((f) => [f.seq, text(f)])).toEqual([
      [0, 'small'],
      [1, 'after'],
    ]);
  });

  it('drops publishes not acknowledged within maxAgeMs, counted as age', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const clock: Clock = { now: () => Date.now() };
    const h = harness({ maxAgeMs: 5_000, clock });
    const outbox = h.outbox();
    outbox.enqueue('t/1', bytes('old-1'), 1, false);
    outbox.enqueue('t/1', bytes('old-2'), 0, false);
    vi.advanceTimersByTime(3_000);
    outbox.enqueue('t/1', bytes('young'), 1, false);

    vi.advanceTimersByTime(2_000); // the oldest are exactly maxAgeMs old: kept
    expect(outbox.size).toBe(3);
    vi.advanceTimersByTime(1_000);
    expect(outbox.size).toBe(1);
    expect(await h.dropped('age')).toBe(2);

    const fake = fakeConnection();
    outbox.attach(fake.conn);
    outbox.resume(0, everything);
    expect(fake.frames.map(text)).toEqual(['young']);

    vi.advanceTimersByTime(3_000);
    expect(outbox.size).toBe(0);
    expect(await h.dropped('age')).toBe(3);
    // Nothing left: no timer keeps running.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('with no connection and nothing acknowledged, the age bound still runs', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const h = harness({ maxAgeMs: 500, clock: { now: () => Date.now() } });
    const outbox = h.outbox();
    outbox.enqueue('t/1', bytes('x'), 1, false);
    vi.advanceTimersByTime(1_001);
    expect(outbox.size).toBe(0);
    expect(await h.dropped('age')).toBe(1);
  });
});

describe('PeerOutbox: a peer acknowledging beyond the stream', () => {
  it('resume with next above what was numbered returns false, sends nothing, and starts a fresh stream', () => {
    const h = harness();
    const outbox = h.outbox();
    outbox.enqueue('t/1', bytes('a'), 1, false);
    outbox.enqueue('t/1', bytes('b'), 1, false);
    const before = outbox.streamId;
    const fake = fakeConnection();
    outbox.attach(fake.conn);
    expect(outbox.resume(3, everything)).toBe(false);
    expect(fake.frames).toEqual([]);
    expect(outbox.streamId).not.toBe(before);
    expect(h.ctx.store.outboundStream(PEER).id).toBe(outbox.streamId);
    // Nothing was forgotten: the claim was not believed.
    expect(outbox.size).toBe(2);

    // The next connection names the new stream; everything goes out, numbered on.
    const next = fakeConnection();
    outbox.attach(next.conn);
    expect(outbox.resume(0, everything)).toBe(true);
    outbox.enqueue('t/1', bytes('c'), 1, false);
    expect(next.frames.map((f) => [f.seq, text(f)])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
  });

  it('resume with next equal to what was numbered is an ordinary acknowledgement', () => {
    const h = harness();
    const outbox = h.outbox();
    outbox.enqueue('t/1', bytes('a'), 1, false);
    outbox.enqueue('t/1', bytes('b'), 1, false);
    const stream = outbox.streamId;
    const fake = fakeConnection();
    outbox.attach(fake.conn);
    expect(outbox.resume(2, everything)).toBe(true);
    expect(outbox.streamId).toBe(stream);
    expect(outbox.size).toBe(0);
    expect(fake.frames).toEqual([]);
  });
});

describe('PeerOutbox: flow control and scope', () => {
  it('pauses above the high-water mark and carries on once the socket drains', () => {
    vi.useFakeTimers();
    const one = frameBytes('t/1', 2);
    // Room for three frames before the mark is passed.
    const h = harness({ highWaterBytes: Math.floor(2.5 * one) });
    const outbox = h.outbox();
    const fake = fakeConnection();
    outbox.attach(fake.conn);
    outbox.resume(0, everything);
    for (let i = 0; i < 6; i += 1) outbox.enqueue('t/1', bytes(`m${i}`), 1, false);
    expect(seqs(fake)).toEqual([0, 1, 2]);

    // Still full: nothing more, however long it waits.
    vi.advanceTimersByTime(50);
    expect(seqs(fake)).toEqual([0, 1, 2]);

    fake.bufferedAmount = 0;
    vi.advanceTimersByTime(10);
    expect(seqs(fake)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a new connection while paused starts writing at once on resume', () => {
    vi.useFakeTimers();
    const one = frameBytes('t/1', 2);
    const h = harness({ highWaterBytes: one });
    const outbox = h.outbox();
    const stuck = fakeConnection();
    outbox.attach(stuck.conn);
    outbox.resume(0, everything);
    for (let i = 0; i < 4; i += 1) outbox.enqueue('t/1', bytes(`m${i}`), 1, false);
    expect(seqs(stuck)).toEqual([0, 1]);

    const fresh = fakeConnection();
    outbox.attach(fresh.conn);
    outbox.resume(1, everything);
    // Resent (DUP) and first sends alike, up to the mark.
    expect(fresh.frames.map((f) => [f.seq, f.dup])).toEqual([
      [1, true],
      [2, false],
    ]);
    vi.advanceTimersByTime(50);
    expect(seqs(stuck)).toEqual([0, 1]);
  });

  it('skips a publish the peer may not receive, counts the denial, and sends the rest', async () => {
    const h = harness();
    const outbox = h.outbox();
    outbox.enqueue('public/1', bytes('a'), 1, false);
    outbox.enqueue('secret/1', bytes('b'), 1, false);
    outbox.enqueue('public/2', bytes('c'), 0, false);
    const fake = fakeConnection();
    outbox.attach(fake.conn);
    outbox.resume(0, (topic) => !topic.startsWith('secret/'));
    outbox.enqueue('secret/2', bytes('d'), 0, false);
    outbox.enqueue('public/3', bytes('e'), 1, false);

    expect(fake.frames.map((f) => [f.seq, f.topic])).toEqual([
      [0, 'public/1'],
      [2, 'public/2'],
      [4, 'public/3'],
    ]);
    expect(await h.denied()).toBe(2);
    // The peer's acknowledgement of a later publish covers the skipped ones.
    outbox.acknowledge(5);
    expect(outbox.size).toBe(0);
  });
});

describe('PeerOutbox with the SQLite store', () => {
  const { open } = sqliteStores('mqfed-peer-outbox-');

  it('after a crash restores the unacknowledged QoS 1 publishes, resends them with DUP, and numbers on past them', () => {
    const h = harness();
    const before = h.outbox(open());
    const stream = before.streamId;
    const fake = fakeConnection();
    before.attach(fake.conn);
    before.resume(0, everything);
    before.enqueue('t/1', bytes('acked'), 1, false); // 0
    before.enqueue('t/1', Uint8Array.of(0, 255, 10, 13), 1, true); // 1
    before.enqueue('t/1', bytes('qos0'), 0, false); // 2: memory only
    before.enqueue('t/2', new Uint8Array(0), 1, false); // 3
    before.acknowledge(1);
    expect(seqs(fake)).toEqual([0, 1, 2, 3]);

    // A crash: nothing is closed, a new process opens the same data directory.
    const after = h.outbox(open());
    expect(after.streamId).toBe(stream);
    expect(after.size).toBe(2);
    const again = fakeConnection();
    after.attach(again.conn);
    after.resume(1, everything);
    after.enqueue('t/3', bytes('new'), 1, false);
    expect(
      again.frames.map((f) => [f.seq, f.topic, f.qos, f.dup, f.retain, [...f.payload]]),
    ).toEqual([
      [1, 't/1', 1, true, true, [0, 255, 10, 13]],
      [3, 't/2', 1, true, false, []],
      [again.frames[2]!.seq, 't/3', 1, false, false, [...bytes('new')]],
    ]);
    // Never a number given out before the crash, QoS 0 ones included.
    expect(again.frames[2]!.seq).toBeGreaterThan(3);
  });

  it('forgets on disk what the peer acknowledged or what the bound dropped', () => {
    const one = frameBytes('t/1', 2);
    const h = harness({ maxBytes: 2 * one });
    const before = h.outbox(open());
    for (let i = 0; i < 4; i += 1) before.enqueue('t/1', bytes(`m${i}`), 1, false);
    const fake = fakeConnection();
    before.attach(fake.conn);
    before.resume(3, everything);

    const after = h.outbox(open());
    expect(after.size).toBe(1);
    const again = fakeConnection();
    after.attach(again.conn);
    after.resume(0, everything);
    expect(again.frames.map((f) => [f.seq, text(f)])).toEqual([[3, 'm3']]);
  });

  it('forgets a QoS 0 publish once written, but not before an earlier QoS 1 one is acknowledged', async () => {
    const h = harness();
    const outbox = h.outbox();
    outbox.enqueue('t/1', bytes('q0-a'), 0, false); // 0: waits for a connection
    expect([outbox.size, outbox.bytes]).toEqual([1, frameBytes('t/1', 4)]);
    const fake = fakeConnection();
    outbox.attach(fake.conn);
    outbox.resume(0, everything);
    expect([outbox.size, outbox.bytes]).toEqual([0, 0]);
    outbox.enqueue('t/1', bytes('q1-b'), 1, false); // 1
    outbox.enqueue('t/1', bytes('q0-c'), 0, false); // 2: behind an unacknowledged QoS 1
    expect(outbox.size).toBe(2);
    outbox.acknowledge(2);
    expect([outbox.size, outbox.bytes]).toEqual([0, 0]);
    // A reconnect resends nothing: QoS 0 goes out at most once, the QoS 1 one was acknowledged.
    const again = fakeConnection();
    outbox.attach(again.conn);
    outbox.resume(2, everything);
    outbox.enqueue('t/1', bytes('q0-d'), 0, false); // 3
    expect(seqs(fake)).toEqual([0, 1, 2]);
    expect(seqs(again)).toEqual([3]);
    expect(outbox.size).toBe(0);
    // Forgotten, not dropped: nothing was lost.
    expect([await h.dropped('bytes'), await h.dropped('age')]).toEqual([0, 0]);
  });

  it('acknowledging QoS 0 publishes alone writes nothing to the store; a QoS 1 one among them trims it', () => {
    const store = open();
    const trims = vi.spyOn(store, 'trim');
    const outbox = harness().outbox(store);
    const fake = fakeConnection();
    outbox.attach(fake.conn);
    outbox.resume(0, everything);
    for (let i = 0; i < 3; i += 1) outbox.enqueue('t/1', bytes(`q0-${i}`), 0, false);
    outbox.acknowledge(3);
    expect(outbox.size).toBe(0);
    expect(trims).not.toHaveBeenCalled();
    outbox.enqueue('t/1', bytes('q0'), 0, false); // 3
    outbox.enqueue('t/1', bytes('q1'), 1, false); // 4
    outbox.acknowledge(5);
    expect(trims).toHaveBeenCalledExactlyOnceWith(PEER, 5);
  });

  it('after a fresh stream and a crash, never numbers a publish twice on that stream', () => {
    const h = harness();
    const before = h.outbox(open());
    const receiver = new InboundStream(SELF, createMemoryStore());
    before.enqueue('t/1', bytes('first'), 1, false); // 0
    const rejected = fakeConnection();
    before.attach(rejected.conn);
    expect(before.resume(1_000, everything)).toBe(false);

    // The next connection names the fresh stream; the receiver knows nothing of it yet.
    const fake = fakeConnection();
    before.attach(fake.conn);
    expect(before.resume(receiver.begin(before.streamId), everything)).toBe(true);
    before.enqueue('t/1', bytes('qos0-a'), 0, false); // 1
    before.enqueue('t/1', bytes('qos0-b'), 0, false); // 2
    const given = seqs(fake);
    expect(given).toEqual([0, 1, 2]);
    // The receiver took all three; the QoS 1 one is still being delivered when the sender dies.
    const deliveries = given.map((seq) => receiver.accept(seq));
    expect(deliveries.map((verdict) => verdict.fresh)).toEqual([true, true, true]);
    for (const verdict of deliveries.slice(1)) if (verdict.fresh) receiver.done(verdict.delivery);

    // Crash and restart on the same data directory; the receiver resumes the same stream.
    const after = h.outbox(open());
    expect(after.streamId).toBe(before.streamId);
    const again = fakeConnection();
    after.attach(again.conn);
    expect(after.resume(receiver.begin(after.streamId), everything)).toBe(true);
    after.enqueue('t/1', bytes('after the crash'), 0, false);
    expect(again.frames.map((f) => [f.dup, text(f)])).toEqual([
      [true, 'first'],
      [false, 'after the crash'],
    ]);
    const fresh = again.frames[1]!;
    expect(given, 'a number given out before the crash').not.toContain(fresh.seq);
    // Numbered again, the receiver drops it as a duplicate: it is lost.
    expect(receiver.accept(fresh.seq).fresh).toBe(true);
  });
});
