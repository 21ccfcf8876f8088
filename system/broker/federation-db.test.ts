import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TempDir, tempDir } from '../common/testing.ts';
import { MqfedError, streamIdSchema } from '../protocol/index.ts';
import { FEDERATION_DB_FILE, openFederationDb } from './federation-db.ts';
import { createMemoryStore, type FederationStore, type StoredPublish } from './federation-store.ts';

let dir: TempDir;
/** Every store a test opened; closed after it, whatever happened. */
const opened: FederationStore[] = [];

beforeEach(async () => {
  dir = await tempDir('mqfed-federation-db-');
});
afterEach(async () => {
  for (const store of opened.splice(0)) store.close();
  await dir[Symbol.asyncDispose]();
});

/** Opens the SQLite store on the test's data directory (again, for a "restart"). */
function openDb(path = dir.path): FederationStore {
  const store = openFederationDb(path);
  opened.push(store);
  return store;
}

/** Closes a store and opens a new one on the same directory: what a broker restart does. */
function reopen(store: FederationStore): FederationStore {
  store.close();
  return openDb();
}

function publish(seq: number, payload: Uint8Array, extra: Partial<StoredPublish> = {}) {
  return {
    seq,
    qos: 1,
    retain: false,
    topic: `t/${seq}`,
    payload,
    at: 1_700_000_000_000 + seq,
    ...extra,
  } satisfies StoredPublish;
}

/** Every byte value, so a store that treated payloads as text would be caught. */
const allBytes = Uint8Array.from({ length: 256 }, (_, index) => index);

/** What both stores promise within one process. */
describe.each([
  { kind: 'memory', open: () => createMemoryStore() },
  { kind: 'SQLite', open: () => openDb() },
])('the $kind federation store, within one process', ({ open }) => {
  it('gives each peer its own unguessable stream, numbered from 0, and the same one when asked again', () => {
    const store = open();
    const a = store.outboundStream('peer-a');
    const b = store.outboundStream('peer-b');
    expect(a.nextSeq).toBe(0);
    expect(b.nextSeq).toBe(0);
    expect(streamIdSchema.safeParse(a.id).success).toBe(true);
    expect(streamIdSchema.safeParse(b.id).success).toBe(true);
    expect(a.id).not.toBe(b.id);
    expect(store.outboundStream('peer-a').id).toBe(a.id);
  });

  it('replaces a stream by a fresh one numbered on from the number given', () => {
    const store = open();
    const old = store.outboundStream('peer-a');
    const fresh = store.newOutboundStream('peer-a', 17);
    expect(fresh.nextSeq).toBe(17);
    expect(fresh.id).not.toBe(old.id);
    expect(store.outboundStream('peer-a').id).toBe(fresh.id);
  });

  it('keeps one inbound position per origin, the last one saved', () => {
    const store = open();
    expect(store.inboundPosition('origin-a')).toBeUndefined();
    store.saveInboundPosition('origin-a', { stream: 'stream-one-0123456789', next: 5 });
    store.saveInboundPosition('origin-b', { stream: 'stream-two-0123456789', next: 9 });
    store.saveInboundPosition('origin-a', { stream: 'stream-three-0123456789', next: 2 });
    expect(store.inboundPosition('origin-a')).toEqual({
      stream: 'stream-three-0123456789',
      next: 2,
    });
    expect(store.inboundPosition('origin-b')).toEqual({ stream: 'stream-two-0123456789', next: 9 });
  });

  it('keeps the largest sequence number a plain number (2^53 - 1)', () => {
    const store = open();
    const next = Number.MAX_SAFE_INTEGER;
    store.saveInboundPosition('origin-a', { stream: 'stream-one-0123456789', next });
    expect(store.inboundPosition('origin-a')).toEqual({ stream: 'stream-one-0123456789', next });
  });
});

describe('the memory store', () => {
  it('is not durable and keeps no publishes: the outbox holds them in memory itself', () => {
    const store = createMemoryStore();
    expect(store.durable).toBe(false);
    store.outboundStream('peer-a');
    store.append('peer-a', publish(0, allBytes));
    expect(store.load('peer-a')).toEqual([]);
    expect(store.peersWithOutbox()).toEqual([]);
  });

  it('moves the next number up to a reservation, never down, and only for the current stream', () => {
    const store = createMemoryStore();
    store.reserve('nobody-yet', 10);
    expect(store.outboundStream('nobody-yet').nextSeq).toBe(0);
    store.outboundStream('peer-a');
    store.reserve('peer-a', 4096);
    store.reserve('peer-a', 100);
    expect(store.outboundStream('peer-a').nextSeq).toBe(4096);
  });

  it('keeps copies of streams and positions, so a caller cannot change them by accident', () => {
    const store = createMemoryStore();
    const stream = store.outboundStream('peer-a');
    stream.nextSeq = 99;
    expect(store.outboundStream('peer-a').nextSeq).toBe(0);
    const position = { stream: 'stream-one-0123456789', next: 3 };
    store.saveInboundPosition('origin-a', position);
    position.next = 1000;
    expect(store.inboundPosition('origin-a')?.next).toBe(3);
  });

  it('forgets everything with the process: a second memory store knows nothing', () => {
    const first = createMemoryStore();
    const stream = first.outboundStream('peer-a');
    first.saveInboundPosition('origin-a', { stream: 'stream-one-0123456789', next: 3 });
    const second = createMemoryStore();
    expect(second.outboundStream('peer-a').id).not.toBe(stream.id);
    expect(second.inboundPosition('origin-a')).toBeUndefined();
  });
});

describe('the SQLite federation store survives a restart on the same data directory', () => {
  it('is durable, and keeps the stream id: numbering resumes at the reservation, past every number given out', () => {
    let store = openDb();
    expect(store.durable).toBe(true);
    const stream = store.outboundStream('peer-a');
    // The outbox reserves before it gives a number out: 0..4095 may have gone out.
    store.reserve('peer-a', 4096);
    store = reopen(store);
    expect(store.outboundStream('peer-a')).toEqual({ id: stream.id, nextSeq: 4096 });

    // A smaller reservation never lowers it.
    store.reserve('peer-a', 10);
    store = reopen(store);
    expect(store.outboundStream('peer-a')).toEqual({ id: stream.id, nextSeq: 4096 });
  });

  it('keeps a replaced stream and its reservation, not the old one', () => {
    let store = openDb();
    const old = store.outboundStream('peer-a');
    store.reserve('peer-a', 4096);
    const fresh = store.newOutboundStream('peer-a', 300);
    store = reopen(store);
    expect(store.outboundStream('peer-a')).toEqual({ id: fresh.id, nextSeq: 300 });
    expect(fresh.id).not.toBe(old.id);

    store.reserve('peer-a', 300 + 4096);
    store = reopen(store);
    expect(store.outboundStream('peer-a')).toEqual({ id: fresh.id, nextSeq: 300 + 4096 });
  });

  it('keeps each peer’s stream apart', () => {
    let store = openDb();
    const a = store.outboundStream('peer-a');
    const b = store.outboundStream('peer-b');
    store.reserve('peer-a', 4096);
    store = reopen(store);
    expect(store.outboundStream('peer-a')).toEqual({ id: a.id, nextSeq: 4096 });
    expect(store.outboundStream('peer-b')).toEqual({ id: b.id, nextSeq: 0 });
  });

  it('loads appended publishes back in order with every field, and payload bytes intact (binary and empty)', () => {
    let store = openDb();
    const kept = [
      publish(0, allBytes),
      publish(1, new Uint8Array(0), { retain: true, versionTime: 1_764_000_000_123 }),
      publish(2, new TextEncoder().encode('température ✓'), { topic: 'sensors/é/1' }),
      publish(3, new Uint8Array(70_000).fill(0xff)),
    ];
    // Appended out of order: load still answers in sequence order.
    for (const index of [0, 2, 1, 3]) store.append('peer-a', kept[index]!);
    store.append('peer-b', publish(0, Uint8Array.of(42)));
    store = reopen(store);

    const loaded = store.load('peer-a');
    expect(loaded.map((p) => p.seq)).toEqual([0, 1, 2, 3]);
    for (const [index, expected] of kept.entries()) {
      const got = loaded[index]!;
      expect({ ...got, payload: undefined }).toEqual({ ...expected, payload: undefined });
      expect(got.payload).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(got.payload).equals(Buffer.from(expected.payload))).toBe(true);
    }
    expect(store.load('peer-b').map((p) => [...p.payload])).toEqual([[42]]);
    expect(store.load('peer-c')).toEqual([]);
  });

  it('opens an outbox written before retained versions existed, its retained publishes of version 0', async () => {
    const { DatabaseSync } = await import('node:sqlite');
    const old = new DatabaseSync(join(dir.path, FEDERATION_DB_FILE));
    old.exec(`
      CREATE TABLE outbox (
        peer TEXT NOT NULL, seq INTEGER NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,
        topic TEXT NOT NULL, payload BLOB NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (peer, seq)) WITHOUT ROWID;
      INSERT INTO outbox VALUES ('peer-a', 0, 1, 1, 't/old', x'01', 5);
      INSERT INTO outbox VALUES ('peer-a', 1, 1, 0, 't/plain', x'02', 6);
    `);
    old.close();
    const store = openDb();
    store.append('peer-a', publish(2, Uint8Array.of(3), { retain: true, versionTime: 77 }));
    const loaded = reopen(store).load('peer-a');
    expect(loaded.map(({ seq, retain, versionTime }) => ({ seq, retain, versionTime }))).toEqual([
      { seq: 0, retain: true, versionTime: 0 },
      { seq: 1, retain: false, versionTime: undefined },
      { seq: 2, retain: true, versionTime: 77 },
    ]);
  });

  it('trims below a bound, for that peer only, and lists the peers that still have publishes', () => {
    let store = openDb();
    for (let seq = 0; seq < 5; seq += 1) store.append('peer-a', publish(seq, Uint8Array.of(seq)));
    store.append('peer-b', publish(7, Uint8Array.of(7)));
    expect(store.peersWithOutbox()).toEqual(['peer-a', 'peer-b']);

    store.trim('peer-a', 3);
    store.trim('peer-b', 3);
    store = reopen(store);
    expect(store.load('peer-a').map((p) => p.seq)).toEqual([3, 4]);
    expect(store.load('peer-b').map((p) => p.seq)).toEqual([7]);

    store.trim('peer-b', 8);
    store = reopen(store);
    expect(store.peersWithOutbox()).toEqual(['peer-a']);
    store.trim('peer-a', 5);
    expect(store.peersWithOutbox()).toEqual([]);
  });

  it('a peer with a stream but no publishes is not listed', () => {
    const store = openDb();
    store.outboundStream('peer-a');
    store.reserve('peer-a', 4096);
    expect(store.peersWithOutbox()).toEqual([]);
  });

  it('keeps inbound positions', () => {
    let store = openDb();
    store.saveInboundPosition('origin-a', { stream: 'stream-one-0123456789', next: 5 });
    store.saveInboundPosition('origin-a', { stream: 'stream-two-0123456789', next: 12 });
    store.saveInboundPosition('origin-b', { stream: 'stream-six-0123456789', next: 0 });
    store = reopen(store);
    expect(store.inboundPosition('origin-a')).toEqual({
      stream: 'stream-two-0123456789',
      next: 12,
    });
    expect(store.inboundPosition('origin-b')).toEqual({ stream: 'stream-six-0123456789', next: 0 });
    expect(store.inboundPosition('origin-c')).toBeUndefined();
  });

  it('a second store opened while the first is still open (a crash: nothing closed) sees every write', () => {
    const first = openDb();
    const stream = first.outboundStream('peer-a');
    first.reserve('peer-a', 4096);
    first.append('peer-a', publish(0, allBytes));
    first.saveInboundPosition('origin-a', { stream: 'stream-one-0123456789', next: 5 });
    // Writes are committed once per event-loop turn; the crash comes after that commit.
    first.flush();

    const second = openDb();
    expect(second.outboundStream('peer-a')).toEqual({ id: stream.id, nextSeq: 4096 });
    expect(second.load('peer-a').map((p) => p.seq)).toEqual([0]);
    expect(second.inboundPosition('origin-a')?.next).toBe(5);
  });
});

describe('the SQLite federation store fails with STORE_FAILED', () => {
  it('when the data directory cannot be created', async () => {
    const file = join(dir.path, 'a-file');
    await writeFile(file, 'not a directory');
    expect(() => openDb(join(file, 'data'))).toThrow(MqfedError);
    expect(() => openDb(join(file, 'data'))).toThrow(
      expect.objectContaining({ code: 'STORE_FAILED' }),
    );
  });

  it('when the database file cannot be opened (its name is taken by a directory)', async () => {
    await mkdir(join(dir.path, FEDERATION_DB_FILE));
    expect(() => openDb()).toThrow(
      expect.objectContaining({ name: 'MqfedError', code: 'STORE_FAILED' }),
    );
  });

  it('on a write after the store is closed', () => {
    const store = openDb();
    store.outboundStream('peer-a');
    store.close();
    expect(() => store.append('peer-a', publish(0, allBytes))).toThrow(
      expect.objectContaining({ name: 'MqfedError', code: 'STORE_FAILED' }),
    );
    expect(() =>
      store.saveInboundPosition('origin-a', { stream: 'stream-one-0123456789', next: 1 }),
    ).toThrow(expect.objectContaining({ code: 'STORE_FAILED' }));
    // Closing twice is harmless (the service's closers may run after a failed start).
    expect(() => store.close()).not.toThrow();
  });
});
