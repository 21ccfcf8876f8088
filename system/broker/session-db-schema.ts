import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

const SCHEMA_VERSION = 1;

/**
 * An outgoing queue entry holds its packet inline when the packet was queued for one client
 * (the common case: one commit of one row, with no index to touch). A publish queued for many
 * clients at once is stored once in `message` and referenced by one small `outgoing` row per
 * client, so a QoS 1 publish to N persistent sessions writes its payload once. [design] The
 * triggers drop a shared message with its last reference. `seq` orders each client's queue.
 */
const schema = `
  CREATE TABLE IF NOT EXISTS retained (
    topic TEXT PRIMARY KEY, payload, broker_id TEXT, broker_counter INTEGER, fields TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS subscription (
    client_id TEXT NOT NULL, topic TEXT NOT NULL, qos INTEGER NOT NULL, options TEXT NOT NULL,
    PRIMARY KEY (client_id, topic));
  CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY, topic TEXT, payload, broker_id TEXT, broker_counter INTEGER,
    fields TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS outgoing (
    seq INTEGER PRIMARY KEY, client_id TEXT NOT NULL, message INTEGER,
    message_id INTEGER, wrapped INTEGER NOT NULL,
    topic TEXT, payload, broker_id TEXT, broker_counter INTEGER, fields TEXT);
  CREATE INDEX IF NOT EXISTS outgoing_by_message ON outgoing (message)
    WHERE message IS NOT NULL;
  CREATE TRIGGER IF NOT EXISTS outgoing_deleted AFTER DELETE ON outgoing
    WHEN OLD.message IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM outgoing WHERE message = OLD.message)
    BEGIN DELETE FROM message WHERE id = OLD.message; END;
  CREATE TRIGGER IF NOT EXISTS outgoing_replaced AFTER UPDATE OF message ON outgoing
    WHEN OLD.message IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM outgoing WHERE message = OLD.message)
    BEGIN DELETE FROM message WHERE id = OLD.message; END;
  CREATE TABLE IF NOT EXISTS incoming (
    client_id TEXT NOT NULL, message_id INTEGER NOT NULL, topic TEXT, payload, broker_id TEXT,
    broker_counter INTEGER, fields TEXT NOT NULL, PRIMARY KEY (client_id, message_id));
  CREATE TABLE IF NOT EXISTS session_owner (client_id TEXT PRIMARY KEY, owner TEXT);
  CREATE TABLE IF NOT EXISTS will (
    client_id TEXT PRIMARY KEY, topic TEXT, payload, broker_id TEXT, broker_counter INTEGER,
    fields TEXT NOT NULL);
`;

/**
 * Opens (creating it if need be) the session database at `path`, or throws.
 */
export function openDatabase(path: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  try {
    // One process owns the file: a second broker on the same sessions (a stale process not yet
    // dead) fails here instead of interleaving its writes. The lock goes with the process, even
    // on SIGKILL. Exclusive mode also keeps the WAL index off shared memory. [design]
    db.exec(
      'PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL',
    );
    // Take the write lock now, so that the second opener fails at once, not at its first write.
    db.exec('BEGIN IMMEDIATE');
    const { user_version: version } = db.prepare('PRAGMA user_version').get() as {
      user_version: number;
    };
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `schema version ${version} is newer than this mqfed knows (${SCHEMA_VERSION})`,
      );
    }
    db.exec(schema);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
