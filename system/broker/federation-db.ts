import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { MqfedError } from '../protocol/index.ts';
import {
  type FederationStore,
  type InboundPosition,
  newStreamId,
  type OutboundStream,
  type StoredPublish,
} from './federation-store.ts';

/** The file in the data directory that holds the federation's state. */
export const FEDERATION_DB_FILE = 'federation.sqlite';

/**
 * The federation store in the data directory, on SQLite. [design] `node:sqlite` is synchronous,
 * so an append is in the write-ahead log before the call returns, which is before aedes
 * acknowledges the publish to its client. WAL with `synchronous = NORMAL` survives a crash of
 * the process (what a broker restart is about); a power cut may lose the last transactions.
 */
export function openFederationDb(dataDir: string): FederationStore {
  let db: DatabaseSync;
  try {
    mkdirSync(dataDir, { recursive: true });
    db = new DatabaseSync(join(dataDir, FEDERATION_DB_FILE));
    db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS outbound_stream (
        peer TEXT PRIMARY KEY, stream TEXT NOT NULL, reserved INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox (
        peer TEXT NOT NULL, seq INTEGER NOT NULL, qos INTEGER NOT NULL, retain INTEGER NOT NULL,
        topic TEXT NOT NULL, payload BLOB NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (peer, seq)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS inbound_position (
        origin TEXT PRIMARY KEY, stream TEXT NOT NULL, next INTEGER NOT NULL);
    `);
    // mqfed.v3 added the version time of retained publishes; older files gain the column.
    const columns = db.prepare('PRAGMA table_info(outbox)').all() as { name: string }[];
    if (!columns.some((column) => column.name === 'version_time')) {
      db.exec('ALTER TABLE outbox ADD COLUMN version_time INTEGER');
    }
  } catch (error) {
    throw new MqfedError(
      'STORE_FAILED',
      `cannot open ${FEDERATION_DB_FILE} in ${dataDir}: ${(error as Error).message}`,
      error,
    );
  }
  const statements = {
    stream: db.prepare('SELECT stream, reserved FROM outbound_stream WHERE peer = ?'),
    putStream: db.prepare(
      'INSERT INTO outbound_stream (peer, stream, reserved) VALUES (?, ?, ?) ' +
        'ON CONFLICT (peer) DO UPDATE SET stream = excluded.stream, reserved = excluded.reserved',
    ),
    reserve: db.prepare(
      'UPDATE outbound_stream SET reserved = max(reserved, ?) WHERE peer = ? AND stream = ?',
    ),
    append: db.prepare(
      'INSERT OR REPLACE INTO outbox ' +
        '(peer, seq, qos, retain, topic, payload, at, version_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    trim: db.prepare('DELETE FROM outbox WHERE peer = ? AND seq < ?'),
    load: db.prepare(
      'SELECT seq, qos, retain, topic, payload, at, version_time FROM outbox ' +
        'WHERE peer = ? ORDER BY seq',
    ),
    peers: db.prepare('SELECT DISTINCT peer FROM outbox ORDER BY peer'),
    position: db.prepare('SELECT stream, next FROM inbound_position WHERE origin = ?'),
    putPosition: db.prepare(
      'INSERT INTO inbound_position (origin, stream, next) VALUES (?, ?, ?) ' +
        'ON CONFLICT (origin) DO UPDATE SET stream = excluded.stream, next = excluded.next',
    ),
  } satisfies Record<string, StatementSync>;
  /** The stream id each peer's reservations are for, so a write needs no read. */
  // Every statement goes through `guarded`: a failing disk is STORE_FAILED, never a raw error.
  const streamIds = new Map<string, string>();
  const guarded = <T>(what: string, run: () => T): T => {
    try {
      return run();
    } catch (error) {
      throw new MqfedError('STORE_FAILED', `${what}: ${(error as Error).message}`, error);
    }
  };

  /**
   * Group commit [design]: every write of one event-loop turn goes into one transaction,
   * committed in the turn's check phase. A commit per publish cost more than the publish itself;
   * what must not run before its write is on disk (a PUBACK to a client or a peer) waits for the
   * commit in `afterCommit`.
   */
  let open = false;
  let waiters: ((error?: Error) => void)[] = [];
  const commit = () => {
    if (!open) return;
    open = false;
    let failure: Error | undefined;
    try {
      db.exec('COMMIT');
    } catch (error) {
      failure = new MqfedError('STORE_FAILED', `commit: ${(error as Error).message}`, error);
      if (db.isTransaction) db.exec('ROLLBACK');
    }
    const done = waiters;
    waiters = [];
    for (const waiter of done) waiter(failure);
  };
  const write = <T>(what: string, run: () => T): T => {
    if (!open) {
      guarded('begin', () => db.exec('BEGIN'));
      open = true;
      setImmediate(commit);
    }
    return guarded(what, run);
  };

  const store: FederationStore = {
    durable: true,
    outboundStream(peer) {
      const row = guarded('read stream', () => statements.stream.get(peer)) as
        | { stream: string; reserved: number }
        | undefined;
      if (row === undefined) return store.newOutboundStream(peer, 0);
      streamIds.set(peer, row.stream);
      // Numbers up to the reservation may have gone out before a crash: resume past them.
      return { id: row.stream, nextSeq: row.reserved };
    },
    newOutboundStream(peer, nextSeq): OutboundStream {
      const stream = { id: newStreamId(), nextSeq };
      write('new stream', () => statements.putStream.run(peer, stream.id, nextSeq));
      streamIds.set(peer, stream.id);
      return stream;
    },
    reserve(peer, until) {
      const id = streamIds.get(peer);
      if (id !== undefined) write('reserve', () => statements.reserve.run(until, peer, id));
    },
    append(peer, publish: StoredPublish) {
      write('outbox append', () =>
        statements.append.run(
          peer,
          publish.seq,
          publish.qos,
          publish.retain ? 1 : 0,
          publish.topic,
          publish.payload,
          publish.at,
          publish.versionTime ?? null,
        ),
      );
    },
    trim(peer, below) {
      write('outbox trim', () => statements.trim.run(peer, below));
    },
    load(peer) {
      const rows = guarded('outbox load', () => statements.load.all(peer)) as {
        seq: number;
        qos: number;
        retain: number;
        topic: string;
        payload: Uint8Array;
        at: number;
        version_time: number | null;
      }[];
      return rows.map((row) => ({
        seq: row.seq,
        qos: row.qos === 0 ? 0 : 1,
        retain: row.retain !== 0,
        ...(row.retain !== 0 ? { versionTime: row.version_time ?? 0 } : {}),
        topic: row.topic,
        payload: row.payload,
        at: row.at,
      }));
    },
    peersWithOutbox() {
      const rows = guarded('outbox peers', () => statements.peers.all()) as { peer: string }[];
      return rows.map((row) => row.peer);
    },
    inboundPosition(origin): InboundPosition | undefined {
      const row = guarded('read position', () => statements.position.get(origin)) as
        | InboundPosition
        | undefined;
      return row === undefined ? undefined : { stream: row.stream, next: row.next };
    },
    saveInboundPosition(origin, position) {
      write('inbound position', () =>
        statements.putPosition.run(origin, position.stream, position.next),
      );
    },
    afterCommit(callback) {
      if (open) waiters.push(callback);
      else callback();
    },
    flush: commit,
    close() {
      commit();
      if (db.isOpen) db.close();
    },
  };
  return store;
}
