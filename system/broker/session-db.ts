import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { MqfedError } from '../protocol/index.ts';
import {
  decodePacket,
  encodePacket,
  type PacketRow,
  type StorablePacket,
} from './session-db-packets.ts';
import { openDatabase } from './session-db-schema.ts';

/** The file name the broker service is meant to use for it in its data directory. */
export const SESSION_DB_FILE = 'mqtt-sessions.sqlite';

const PACKET = 'topic, payload, broker_id, broker_counter, fields';
const PACKET_VALUES = ':topic, :payload, :broker_id, :broker_counter, :fields';
const PACKET_UPDATE =
  'topic = excluded.topic, payload = excluded.payload, broker_id = excluded.broker_id, ' +
  'broker_counter = excluded.broker_counter, fields = excluded.fields';

/** What a subscription of a persistent session holds besides its topic and QoS. */
export interface SubscriptionOptions {
  rh?: number;
  rap?: boolean;
  nl?: boolean;
  subscriptionIdentifier?: number;
}

export interface StoredSubscription extends SubscriptionOptions {
  clientId: string;
  topic: string;
  qos: number;
}

export interface StoredOutgoing {
  seq: number;
  clientId: string;
  packet: Record<string, unknown>;
  messageId: number | null;
  /** True when aedes queued a copy of it (aedes-packet); false for a packet it put in itself. */
  wrapped: boolean;
}

export interface SessionDb {
  putRetained(packet: StorablePacket & { topic: string }): void;
  deleteRetained(topic: string): void;
  putSubscriptions(subscriptions: readonly StoredSubscription[]): void;
  deleteSubscriptions(clientId: string, topics: readonly string[]): void;
  deleteClientSubscriptions(clientId: string): void;
  /**
   * Queues the packet for each client, in one transaction: one row, the packet inline, for one
   * client; the packet once and a reference per client for more. Returns each row's `seq`.
   */
  enqueue(clientIds: readonly string[], packet: StorablePacket): number[];
  setMessageId(seq: number, messageId: number | null): void;
  /** The queue entry `seq` becomes `packet`, a packet aedes put there itself (a PUBREL...). */
  replaceOutgoing(seq: number, packet: StorablePacket, messageId: number | null): void;
  deleteOutgoing(seq: number): void;
  putIncoming(clientId: string, messageId: number, packet: StorablePacket): void;
  deleteIncoming(clientId: string, messageId: number): void;
  deleteClientIncoming(clientId: string): void;
  putWill(clientId: string, packet: StorablePacket): void;
  deleteWill(clientId: string): void;

  /** Who made the persistent session of `clientId`: a client principal; null: anonymous. */
  putOwner(clientId: string, owner: string | null): void;
  deleteOwner(clientId: string): void;
  owners(): Iterable<{ clientId: string; owner: string | null }>;
  retained(): Iterable<Record<string, unknown>>;
  subscriptions(): Iterable<StoredSubscription>;
  /** In queue order. Rows of one enqueue share one decoded packet: copy it before changing it. */
  outgoing(): Iterable<StoredOutgoing>;
  incoming(): Iterable<{ clientId: string; packet: Record<string, unknown> }>;
  wills(): Iterable<{ clientId: string; packet: Record<string, unknown> }>;
  /** The highest brokerCounter stored for packets of `brokerId`; 0 when none. */
  maxBrokerCounter(brokerId: string): number;
  close(): void;
}

function storeFailed(what: string, error: unknown): MqfedError {
  return new MqfedError('STORE_FAILED', `${what}: ${(error as Error).message}`, error);
}

/**
 * The MQTT session state of one broker in one node:sqlite file. [design] Every write is
 * synchronous: when a method returns, the change is in the write-ahead log, which survives a
 * crash of the process (`synchronous = NORMAL`); a power cut may lose the last transactions.
 */
export function openSessionDb(path: string): SessionDb {
  let db: DatabaseSync;
  try {
    db = openDatabase(path);
  } catch (error) {
    throw storeFailed(`cannot open the MQTT session store ${path}`, error);
  }
  const statements = {
    begin: db.prepare('BEGIN'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    putRetained: db.prepare(
      `INSERT INTO retained (${PACKET}) VALUES (${PACKET_VALUES}) ` +
        // An update keeps the rowid, so the restored order is the order topics were first
        // retained, as in the memory persistence's Map.
        `ON CONFLICT (topic) DO UPDATE SET ${PACKET_UPDATE}`,
    ),
    deleteRetained: db.prepare('DELETE FROM retained WHERE topic = ?'),
    putSubscription: db.prepare(
      'INSERT INTO subscription (client_id, topic, qos, options) VALUES (?, ?, ?, ?) ' +
        'ON CONFLICT (client_id, topic) DO UPDATE SET qos = excluded.qos, options = excluded.options',
    ),
    deleteSubscription: db.prepare('DELETE FROM subscription WHERE client_id = ? AND topic = ?'),
    deleteClientSubscriptions: db.prepare('DELETE FROM subscription WHERE client_id = ?'),
    putMessage: db.prepare(`INSERT INTO message (${PACKET}) VALUES (${PACKET_VALUES})`),
    putOutgoing: db.prepare(
      'INSERT INTO outgoing (client_id, message, message_id, wrapped) VALUES (?, ?, NULL, 1)',
    ),
    putOutgoingInline: db.prepare(
      `INSERT INTO outgoing (client_id, message, message_id, wrapped, ${PACKET}) ` +
        `VALUES (:client_id, NULL, NULL, 1, ${PACKET_VALUES})`,
    ),
    setMessageId: db.prepare('UPDATE outgoing SET message_id = ? WHERE seq = ?'),
    replaceOutgoing: db.prepare(
      'UPDATE outgoing SET message = NULL, message_id = :message_id, wrapped = 0, ' +
        'topic = :topic, payload = :payload, broker_id = :broker_id, ' +
        'broker_counter = :broker_counter, fields = :fields WHERE seq = :seq',
    ),
    deleteOutgoing: db.prepare('DELETE FROM outgoing WHERE seq = ?'),
    putIncoming: db.prepare(
      `INSERT INTO incoming (client_id, message_id, ${PACKET}) ` +
        `VALUES (:client_id, :message_id, ${PACKET_VALUES}) ` +
        `ON CONFLICT (client_id, message_id) DO UPDATE SET ${PACKET_UPDATE}`,
    ),
    deleteIncoming: db.prepare('DELETE FROM incoming WHERE client_id = ? AND message_id = ?'),
    deleteClientIncoming: db.prepare('DELETE FROM incoming WHERE client_id = ?'),
    putWill: db.prepare(
      `INSERT INTO will (client_id, ${PACKET}) VALUES (:client_id, ${PACKET_VALUES}) ` +
        `ON CONFLICT (client_id) DO UPDATE SET ${PACKET_UPDATE}`,
    ),
    deleteWill: db.prepare('DELETE FROM will WHERE client_id = ?'),
    putOwner: db.prepare(
      'INSERT INTO session_owner (client_id, owner) VALUES (?, ?) ' +
        'ON CONFLICT (client_id) DO UPDATE SET owner = excluded.owner',
    ),
    deleteOwner: db.prepare('DELETE FROM session_owner WHERE client_id = ?'),
    owners: db.prepare('SELECT client_id, owner FROM session_owner'),
    retained: db.prepare(`SELECT ${PACKET} FROM retained ORDER BY rowid`),
    subscriptions: db.prepare(
      'SELECT client_id, topic, qos, options FROM subscription ORDER BY rowid',
    ),
    outgoing: db.prepare(
      'SELECT o.seq, o.client_id, o.message, o.message_id, o.wrapped, ' +
        'iif(o.message IS NULL, o.topic, m.topic) AS topic, ' +
        'iif(o.message IS NULL, o.payload, m.payload) AS payload, ' +
        'iif(o.message IS NULL, o.broker_id, m.broker_id) AS broker_id, ' +
        'iif(o.message IS NULL, o.broker_counter, m.broker_counter) AS broker_counter, ' +
        'iif(o.message IS NULL, o.fields, m.fields) AS fields ' +
        'FROM outgoing o LEFT JOIN message m ON m.id = o.message ORDER BY o.seq',
    ),
    incoming: db.prepare(`SELECT client_id, ${PACKET} FROM incoming ORDER BY rowid`),
    wills: db.prepare(`SELECT client_id, ${PACKET} FROM will ORDER BY rowid`),
    maxBrokerCounter: db.prepare(
      'SELECT max(c) AS counter FROM (' +
        'SELECT max(broker_counter) AS c FROM message WHERE broker_id = :id UNION ALL ' +
        'SELECT max(broker_counter) FROM outgoing WHERE broker_id = :id UNION ALL ' +
        'SELECT max(broker_counter) FROM retained WHERE broker_id = :id UNION ALL ' +
        'SELECT max(broker_counter) FROM incoming WHERE broker_id = :id UNION ALL ' +
        'SELECT max(broker_counter) FROM will WHERE broker_id = :id)',
    ),
  } satisfies Record<string, StatementSync>;

  const run = <T>(what: string, work: () => T): T => {
    try {
      return work();
    } catch (error) {
      throw storeFailed(what, error);
    }
  };
  /** Several writes as one: all of them reach the log, or none. */
  const transaction = <T>(what: string, work: () => T): T =>
    run(what, () => {
      statements.begin.run();
      try {
        const result = work();
        statements.commit.run();
        return result;
      } catch (error) {
        if (db.isTransaction) statements.rollback.run();
        throw error;
      }
    });
  const putMessage = (packet: StorablePacket): number =>
    Number(statements.putMessage.run(encodePacket(packet)).lastInsertRowid);

  return {
    putRetained(packet) {
      run('store retained', () => statements.putRetained.run(encodePacket(packet)));
    },
    deleteRetained(topic) {
      run('delete retained', () => statements.deleteRetained.run(topic));
    },
    putSubscriptions(subscriptions) {
      transaction('store subscriptions', () => {
        for (const { clientId, topic, qos, ...options } of subscriptions) {
          statements.putSubscription.run(clientId, topic, qos, JSON.stringify(options));
        }
      });
    },
    deleteSubscriptions(clientId, topics) {
      transaction('delete subscriptions', () => {
        for (const topic of topics) statements.deleteSubscription.run(clientId, topic);
      });
    },
    deleteClientSubscriptions(clientId) {
      run('clean subscriptions', () => statements.deleteClientSubscriptions.run(clientId));
    },
    enqueue(clientIds, packet) {
      // One statement is its own transaction.
      if (clientIds.length === 1) {
        const params = { client_id: clientIds[0]!, ...encodePacket(packet) };
        return [
          run('enqueue outgoing', () =>
            Number(statements.putOutgoingInline.run(params).lastInsertRowid),
          ),
        ];
      }
      return transaction('enqueue outgoing', () => {
        const message = putMessage(packet);
        return clientIds.map((clientId) =>
          Number(statements.putOutgoing.run(clientId, message).lastInsertRowid),
        );
      });
    },
    setMessageId(seq, messageId) {
      run('update outgoing', () => statements.setMessageId.run(messageId, seq));
    },
    replaceOutgoing(seq, packet, messageId) {
      const params = { seq, message_id: messageId, ...encodePacket(packet) };
      run('replace outgoing', () => statements.replaceOutgoing.run(params));
    },
    deleteOutgoing(seq) {
      run('clear outgoing', () => statements.deleteOutgoing.run(seq));
    },
    putIncoming(clientId, messageId, packet) {
      run('store incoming', () =>
        statements.putIncoming.run({
          client_id: clientId,
          message_id: messageId,
          ...encodePacket(packet),
        }),
      );
    },
    deleteIncoming(clientId, messageId) {
      run('delete incoming', () => statements.deleteIncoming.run(clientId, messageId));
    },
    deleteClientIncoming(clientId) {
      run('clean incoming', () => statements.deleteClientIncoming.run(clientId));
    },
    putWill(clientId, packet) {
      run('store will', () =>
        statements.putWill.run({ client_id: clientId, ...encodePacket(packet) }),
      );
    },
    deleteWill(clientId) {
      run('delete will', () => statements.deleteWill.run(clientId));
    },
    putOwner(clientId, owner) {
      run('store session owner', () => statements.putOwner.run(clientId, owner));
    },
    deleteOwner(clientId) {
      run('delete session owner', () => statements.deleteOwner.run(clientId));
    },
    *owners() {
      for (const row of statements.owners.iterate()) {
        const { client_id, owner } = row as { client_id: string; owner: string | null };
        yield { clientId: client_id, owner };
      }
    },

    *retained() {
      for (const row of statements.retained.iterate())
        yield decodePacket(row as unknown as PacketRow);
    },
    *subscriptions() {
      for (const row of statements.subscriptions.iterate()) {
        const { client_id, topic, qos, options } = row as {
          client_id: string;
          topic: string;
          qos: number;
          options: string;
        };
        yield { clientId: client_id, topic, qos, ...(JSON.parse(options) as SubscriptionOptions) };
      }
    },
    *outgoing() {
      // Rows of one enqueue for many clients share a message: decode it once.
      const packets = new Map<number, Record<string, unknown>>();
      for (const row of statements.outgoing.iterate()) {
        const r = row as unknown as PacketRow & {
          seq: number;
          client_id: string;
          message: number | null;
          message_id: number | null;
          wrapped: number;
        };
        let packet = r.message === null ? undefined : packets.get(r.message);
        if (packet === undefined) {
          packet = decodePacket(r);
          if (r.message !== null) packets.set(r.message, packet);
        }
        yield {
          seq: r.seq,
          clientId: r.client_id,
          packet,
          messageId: r.message_id,
          wrapped: r.wrapped !== 0,
        };
      }
    },
    *incoming() {
      for (const row of statements.incoming.iterate()) {
        yield {
          clientId: (row as { client_id: string }).client_id,
          packet: decodePacket(row as unknown as PacketRow),
        };
      }
    },
    *wills() {
      for (const row of statements.wills.iterate()) {
        yield {
          clientId: (row as { client_id: string }).client_id,
          packet: decodePacket(row as unknown as PacketRow),
        };
      }
    },
    maxBrokerCounter(brokerId) {
      const row = statements.maxBrokerCounter.get({ id: brokerId }) as { counter: number | null };
      return row.counter ?? 0;
    },
    close() {
      if (db.isOpen) db.close();
    },
  };
}
