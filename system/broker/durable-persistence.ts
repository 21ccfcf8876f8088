import { Readable } from 'node:stream';
import type { Brokers, Subscription } from 'aedes';
import type { Logger } from '../common/index.ts';
import { topicMatches } from '../protocol/index.ts';
import {
  type BrokerRef,
  type ClientRef,
  MemoryPersistence,
  type MemoryPersistenceApi,
  type Packet,
} from './durable-persistence-memory.ts';
import { OutgoingQueues } from './durable-persistence-outgoing.ts';
import { readRetainedRow, retainedRow } from './retained-rows.ts';
import {
  DEFAULT_RETAINED_VERSIONS_OPTIONS,
  type RetainedVersion,
  RetainedVersions,
  type RetainedVersionsOptions,
} from './retained-versions.ts';
import { openSessionDb, type SessionDb, type StoredSubscription } from './session-db.ts';

export { SESSION_DB_FILE } from './session-db.ts';

/**
 * An aedes persistence whose MQTT sessions survive a crash of the broker process. [design]
 *
 * Persisted: subscriptions of persistent sessions, the outgoing queues (QoS 1/2 messages for
 * offline clients and messages in flight, with the packet id they went out with), incoming
 * QoS 2 packets awaiting PUBREL, retained messages (each with its federation-wide version, and
 * tombstones of recent deletes: retained-versions.ts, retained-rows.ts) and wills.
 *
 * It is aedes' own in-memory persistence (aedes-persistence 11, `asyncPersistence.js`) with every
 * change written through, synchronously, to a node:sqlite file (./session-db.ts) before the
 * method returns: before aedes runs its callback, so before it acknowledges anything that depends
 * on the change. Reads are served from memory, as fast as the memory persistence. At `setup()`
 * everything in the file is loaded back into memory through the superclass's own methods; the
 * outgoing queues are the exception, kept by ./durable-persistence-outgoing.ts so that each entry
 * knows its row. The aedes-persistence abstract suite runs against this class, also restarting it
 * after every change (durable-persistence.abstract-suite.ts).
 *
 * aedes does not close its persistence: whoever created it calls `destroy()` after
 * `aedes.close()`, which releases the file for the next process (or the next broker in this one).
 *
 * After a restart, two things aedes does not expect are handled:
 * - `broker.counter` starts at 0 again, but stored packets carry the counters of the previous
 *   run under the same broker id: new packets would collide with them in `outgoingUpdate`
 *   (which matches brokerId + brokerCounter) and in each client's duplicate filter. `setup()`
 *   moves the counter past the highest one stored for this broker id.
 * - Wills stored by the previous run belong to connections that died with it. aedes publishes
 *   only wills of brokers it believes dead, and this broker (same id) is alive; so
 *   `streamWill()` hands out those restored wills without a brokerId, which makes aedes' will
 *   sweep (every 4 × heartbeatInterval) publish and delete them, as this broker's own
 *   messages. A client that reconnects before the sweep replaces its will on CONNECT and the
 *   old one is never published (aedes does the same for wills of a dead broker in a cluster).
 */

/** A subscription of a persistent session, as stored. */
export interface PersistentSubscription {
  clientId: string;
  topic: string;
  qos: number;
}

export interface DurablePersistenceOptions {
  /** The SQLite file; its folder is created. One process at a time may hold it open. */
  path: string;
  logger?: Logger;
  /** Clock and tombstone bounds of the retained messages' versions (retained-versions.ts). */
  retained?: Partial<RetainedVersionsOptions>;
}

/** A retained message held here, with its version: what a peer's retained fetch is answered. */
export interface VersionedRetained {
  topic: string;
  /** Empty for a tombstone (a delete remembered). */
  payload: Buffer;
  qos: number;
  version: RetainedVersion;
}

export interface DurablePersistence extends MemoryPersistenceApi {
  /**
   * The subscriptions of every persistent session in the store, readable as soon as the
   * persistence is created (before aedes starts). Meant for the broker service to seed its
   * federation interest at start-up: clients restored from disk are offline until they
   * reconnect, yet their queues must keep filling from peers in the meantime.
   */
  persistentSubscriptions(): PersistentSubscription[];
  /** The versions of the retained messages held here and the tombstones of recent deletes. */
  readonly retainedVersions: RetainedVersions;
  /**
   * Runs `source` before a new subscription's retained messages are read from this store, and
   * waits for it: the retained fetch from peers, whose winners it stores here first.
   */
  useRetainedSource(source: (patterns: string[]) => Promise<void>): void;
  /** Retained messages and tombstones on topics matching any of `filters`, each topic once. */
  retainedMatching(
    filters: readonly string[],
    accept: (topic: string) => boolean,
  ): AsyncGenerator<VersionedRetained>;
  /**
   * What the persistent session of `clientId` holds: its subscriptions and the messages queued
   * for it, in order (those sent but unacknowledged carry a `messageId`). For moving the session
   * to another broker (session-handover.ts); nothing is removed.
   */
  sessionOf(clientId: string): Promise<StoredSession>;
  /** Forgets the session of `clientId`: subscriptions, queue, unreleased QoS 2 ids and will. */
  dropSession(clientId: string): Promise<void>;
  /**
   * Records who made the session of `clientId` (a client principal; null: anonymous), so that
   * after a restart it still goes only to that principal's connections elsewhere; undefined
   * forgets it (a clean session keeps nothing).
   */
  setSessionOwner(clientId: string, owner: string | null | undefined): void;
  /** Every stored session's client id with its owner (undefined: not recorded). */
  storedSessions(): Map<string, string | null | undefined>;
  /**
   * Told whenever a message is queued for a session, with the client id and that session's own
   * copy (the handover relays it on, or marks it DUP).
   */
  onQueued: ((clientId: string, packet: Packet) => void) | undefined;
}

export interface StoredSession {
  subscriptions: { topic: string; qos: number }[];
  messages: Packet[];
}

class SqlitePersistence extends MemoryPersistence implements DurablePersistence {
  readonly #db: SessionDb;
  readonly #path: string;
  readonly #logger: Logger | undefined;
  readonly #outgoing: OutgoingQueues;
  /** Clients whose will was restored from the previous run and not replaced since. */
  readonly #orphanWills = new Set<string>();
  readonly retainedVersions: RetainedVersions;
  #retainedSource: ((patterns: string[]) => Promise<void>) | undefined;

  constructor(options: DurablePersistenceOptions) {
    super();
    this.#db = openSessionDb(options.path);
    this.#outgoing = new OutgoingQueues(this.#db);
    this.#path = options.path;
    this.#logger = options.logger;
    this.retainedVersions = new RetainedVersions({
      clock: { now: () => Date.now() },
      ...DEFAULT_RETAINED_VERSIONS_OPTIONS,
      ...options.retained,
    });
    // An expired tombstone's row goes too.
    this.retainedVersions.onForget = (topic) => this.#db.deleteRetained(topic);
  }

  override async setup(broker: BrokerRef): Promise<void> {
    await super.setup(broker);
    const db = this.#db;
    const sessions = new Map<string, Subscription[]>();
    for (const { clientId, ...subscription } of db.subscriptions()) {
      const subscriptions = sessions.get(clientId) ?? [];
      subscriptions.push(subscription as Subscription);
      sessions.set(clientId, subscriptions);
    }
    for (const [id, subscriptions] of sessions) {
      await super.addSubscriptions({ id }, subscriptions);
    }
    let retained = 0;
    const versions = this.retainedVersions;
    versions.selfId = broker.id;
    // Read whole first: an expired tombstone's row is deleted on the way.
    for (const row of [...db.retained()]) {
      const { packet, version, until } = readRetainedRow(row);
      // A row from before versions existed is this broker's, of the oldest version there is.
      const held = version ?? { time: 0, origin: broker.id };
      if (until !== undefined) {
        versions.restoreTombstone(packet.topic, held, until);
        continue;
      }
      versions.restoreMessage(packet.topic, held);
      await super.storeRetained(packet);
      retained++;
    }
    const queued = this.#outgoing.restore();
    let incoming = 0;
    for (const { clientId, packet } of db.incoming()) {
      await super.incomingStorePacket({ id: clientId }, packet);
      incoming++;
    }
    for (const { clientId, packet } of db.wills()) {
      await super.putWill({ id: clientId }, packet);
      this.#orphanWills.add(clientId);
    }
    const counter = db.maxBrokerCounter(broker.id);
    if (typeof broker.counter === 'number' && broker.counter < counter) broker.counter = counter;
    this.#logger?.info(
      {
        path: this.#path,
        sessions: sessions.size,
        queued,
        retained,
        incoming,
        wills: this.#orphanWills.size,
      },
      'restored MQTT sessions',
    );
  }

  persistentSubscriptions(): PersistentSubscription[] {
    return Array.from(this.#db.subscriptions(), ({ clientId, topic, qos }) => ({
      clientId,
      topic,
      qos,
    }));
  }

  async sessionOf(clientId: string): Promise<StoredSession> {
    const subscriptions = (await this.subscriptionsByClient({ id: clientId })) ?? [];
    return {
      subscriptions: subscriptions.map(({ topic, qos }) => ({ topic, qos })),
      messages: this.#outgoing.packets(clientId),
    };
  }

  setSessionOwner(clientId: string, owner: string | null | undefined): void {
    if (owner === undefined) this.#db.deleteOwner(clientId);
    else this.#db.putOwner(clientId, owner);
  }

  storedSessions(): Map<string, string | null | undefined> {
    const sessions = new Map<string, string | null | undefined>();
    for (const { clientId } of this.#db.subscriptions()) sessions.set(clientId, undefined);
    for (const { clientId, owner } of this.#db.owners()) {
      if (sessions.has(clientId)) sessions.set(clientId, owner);
    }
    return sessions;
  }

  async dropSession(clientId: string): Promise<void> {
    this.#db.deleteOwner(clientId);
    const client = { id: clientId };
    await this.cleanSubscriptions(client);
    this.#outgoing.drop(clientId);
    await this.cleanIncoming(client);
    await this.delWill(client);
  }

  /**
   * [design] Stored only when newer than what is held: a local client's publish carries the
   * version issued when it was forwarded (tagged on its payload; anything untagged, such as a
   * will, gets a fresh one); a peer's carries the origin's. A delete leaves a tombstone.
   */
  override async storeRetained(packet: Packet & { topic: string; payload: { length: number } }) {
    const versions = this.retainedVersions;
    const { topic, payload } = packet;
    const version =
      (typeof payload === 'object' ? versions.take(payload) : undefined) ?? versions.issue(topic);
    if (!versions.record(topic, version, payload.length === 0)) return;
    this.#db.putRetained(
      retainedRow(packet, version, versions.tombstoneUntil(topic)) as Packet & { topic: string },
    );
    await super.storeRetained(packet);
  }

  useRetainedSource(source: (patterns: string[]) => Promise<void>): void {
    this.#retainedSource = source;
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    const source = this.#retainedSource;
    if (source === undefined) return super.createRetainedStreamCombi(patterns);
    const local = () => super.createRetainedStreamCombi(patterns);
    return Readable.from(
      (async function* merged() {
        // The source stores what it fetched here; it never fails a subscription.
        await source(patterns).catch(() => {});
        yield* local();
      })(),
    );
  }

  async *retainedMatching(
    filters: readonly string[],
    accept: (topic: string) => boolean,
  ): AsyncGenerator<VersionedRetained> {
    const versions = this.retainedVersions;
    const seen = new Set<string>();
    for (const filter of filters) {
      for await (const packet of super.createRetainedStream(filter) as AsyncIterable<Packet>) {
        const topic = packet.topic as string;
        if (seen.has(topic) || !accept(topic)) continue;
        seen.add(topic);
        const held = versions.held(topic);
        if (held === undefined || held.deleted) continue;
        const payload = packet.payload as Buffer | string;
        yield {
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos: typeof packet.qos === 'number' ? packet.qos : 0,
          version: held.version,
        };
      }
    }
    const matches = (topic: string) =>
      !seen.has(topic) && accept(topic) && filters.some((filter) => topicMatches(filter, topic));
    for (const [topic, version] of versions.tombstones(matches)) {
      yield { topic, payload: Buffer.alloc(0), qos: 0, version };
    }
  }

  override async addSubscriptions(client: ClientRef, subs: Subscription[]) {
    this.#db.putSubscriptions(subs.map((sub) => storedSubscription(client.id, sub)));
    await super.addSubscriptions(client, subs);
  }

  override async removeSubscriptions(client: ClientRef, topics: string[]) {
    this.#db.deleteSubscriptions(client.id, topics);
    await super.removeSubscriptions(client, topics);
  }

  override async cleanSubscriptions(client: ClientRef) {
    this.#db.deleteClientSubscriptions(client.id);
    await super.cleanSubscriptions(client);
  }

  onQueued: ((clientId: string, packet: Packet) => void) | undefined;

  override async outgoingEnqueue(sub: { clientId: string }, packet: Packet) {
    this.#told([sub], this.#outgoing.enqueue([sub], packet));
  }

  override async outgoingEnqueueCombi(subs: { clientId: string }[], packet: Packet) {
    this.#told(subs, this.#outgoing.enqueue(subs, packet));
  }

  #told(subs: readonly { clientId: string }[], copies: readonly Packet[]): void {
    const onQueued = this.onQueued;
    if (onQueued === undefined) return;
    for (let i = 0; i < subs.length; i++) onQueued(subs[i]!.clientId, copies[i]!);
  }

  override async outgoingUpdate(client: ClientRef, packet: Packet) {
    this.#outgoing.update(client.id, packet);
  }

  override async outgoingClearMessageId(client: ClientRef, packet: { messageId?: number }) {
    return this.#outgoing.clear(client.id, packet.messageId);
  }

  override outgoingStream(client: ClientRef): Readable {
    return Readable.from(this.#outgoing.packets(client.id));
  }

  override async incomingStorePacket(client: ClientRef, packet: Packet & { messageId: number }) {
    this.#db.putIncoming(client.id, packet.messageId, packet);
    await super.incomingStorePacket(client, packet);
  }

  override async incomingDelPacket(client: ClientRef, packet: { messageId: number }) {
    // The superclass throws when there is no such packet; then there is no row either.
    await super.incomingDelPacket(client, packet);
    this.#db.deleteIncoming(client.id, packet.messageId);
  }

  override async cleanIncoming(client: ClientRef) {
    this.#db.deleteClientIncoming(client.id);
    await super.cleanIncoming(client);
  }

  override async putWill(client: ClientRef, packet: Packet) {
    // The superclass stamps these on the packet; the row must carry them too.
    this.#db.putWill(client.id, { ...packet, brokerId: this.broker.id, clientId: client.id });
    this.#orphanWills.delete(client.id);
    await super.putWill(client, packet);
  }

  override async delWill(client: ClientRef) {
    this.#db.deleteWill(client.id);
    this.#orphanWills.delete(client.id);
    return super.delWill(client);
  }

  override streamWill(brokers: Brokers = {}): Readable {
    const live = super.streamWill(brokers);
    const orphans = [...this.#orphanWills];
    const getWill = (id: string) => this.getWill({ id });
    const isOrphan = (id: string) => this.#orphanWills.has(id);
    return Readable.from(
      (async function* wills() {
        for await (const will of live) if (!isOrphan(will.clientId)) yield will;
        for (const id of orphans) {
          const will = await getWill(id);
          // Without a brokerId aedes takes the will for one of a dead broker; see the header.
          if (will !== undefined && isOrphan(id)) yield { ...will, brokerId: undefined };
        }
      })(),
    );
  }

  override async destroy() {
    try {
      await super.destroy();
    } finally {
      this.#db.close();
    }
  }
}

function storedSubscription(clientId: string, sub: Subscription): StoredSubscription {
  const { topic, qos, rh, rap, nl } = sub as Subscription & {
    rh?: number;
    rap?: boolean;
    nl?: boolean;
  };
  const { subscriptionIdentifier } = sub as { subscriptionIdentifier?: number };
  return { clientId, topic, qos, rh, rap, nl, subscriptionIdentifier };
}

/** An aedes persistence (pass it as aedes' `persistence` option) backed by the file `path`. */
export function createDurablePersistence(options: DurablePersistenceOptions): DurablePersistence {
  return new SqlitePersistence(options);
}
