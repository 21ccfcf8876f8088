import { AedesPacket, type Packet } from './durable-persistence-memory.ts';
import type { SessionDb } from './session-db.ts';

interface QueueEntry {
  /** The entry's row in the store. */
  seq: number;
  packet: Packet;
}

/**
 * The outgoing queues of the durable persistence: per client, the QoS > 0 messages not yet
 * acknowledged, in memory and in the store. [design] They are kept here rather than in the
 * memory persistence because each entry must know its row: updating or clearing one message of
 * a client must touch exactly the row aedes meant, even when the queue holds the same message
 * twice (a client whose subscriptions overlap). The matching rules are the memory
 * persistence's, line for line, so aedes sees no difference.
 */
export class OutgoingQueues {
  readonly #db: SessionDb;
  readonly #queues = new Map<string, QueueEntry[]>();

  constructor(db: SessionDb) {
    this.#db = db;
  }

  /** Loads the queues from the store; returns how many entries they hold. */
  restore(): number {
    let count = 0;
    for (const row of this.#db.outgoing()) {
      // Rows of one enqueue share a decoded packet: each entry gets its own copy, as aedes does.
      const packet = row.wrapped ? new AedesPacket(row.packet) : (row.packet as Packet);
      if (row.messageId !== null) packet.messageId = row.messageId;
      this.#queue(row.clientId).push({ seq: row.seq, packet });
      count++;
    }
    return count;
  }

  /**
   * One transaction for all subscribers: on the path of every QoS > 0 publish that matches a
   * persistent session, offline or not.
   */
  /** Answers each subscriber's queued copy, in `subs` order. */
  enqueue(subs: readonly { clientId: string }[], packet: Packet): Packet[] {
    if (subs.length === 0) return [];
    const stored = new AedesPacket(packet);
    const seqs = this.#db.enqueue(
      subs.map((sub) => sub.clientId),
      stored,
    );
    const copies: Packet[] = [];
    for (let i = 0; i < subs.length; i++) {
      const copy = i === 0 ? stored : new AedesPacket(packet);
      copies.push(copy);
      this.#queue(subs[i]!.clientId).push({ seq: seqs[i]!, packet: copy });
    }
    return copies;
  }

  /**
   * The memory persistence's rule: the entry with the same brokerId and brokerCounter takes the
   * packet id; failing that, an entry of another broker with the same packet id is replaced by
   * the packet (a PUBREL replaces its PUBLISH).
   */
  update(clientId: string, packet: Packet): void {
    for (const entry of this.#queues.get(clientId) ?? []) {
      const queued = entry.packet;
      if (queued.brokerId === packet.brokerId) {
        if (queued.brokerCounter === packet.brokerCounter) {
          this.#db.setMessageId(entry.seq, packet.messageId ?? null);
          queued.messageId = packet.messageId;
          return;
        }
      } else if (queued.messageId === packet.messageId) {
        this.#db.replaceOutgoing(entry.seq, packet, packet.messageId ?? null);
        entry.packet = packet;
        return;
      }
    }
    throw new Error('no such packet');
  }

  /** Removes the first entry with this packet id and returns its packet. */
  clear(clientId: string, messageId: number | undefined): Packet | undefined {
    const queue = this.#queues.get(clientId);
    const index = queue?.findIndex((entry) => entry.packet.messageId === messageId) ?? -1;
    if (queue === undefined || index < 0) return undefined;
    this.#db.deleteOutgoing(queue[index]!.seq);
    const [entry] = queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(clientId);
    return entry!.packet;
  }

  /** A copy of the client's queue: aedes clears entries while it streams them. */
  packets(clientId: string): Packet[] {
    return (this.#queues.get(clientId) ?? []).map((entry) => entry.packet);
  }

  /** Removes every entry of the client (its session moved to another broker or ended). */
  drop(clientId: string): void {
    for (const entry of this.#queues.get(clientId) ?? []) this.#db.deleteOutgoing(entry.seq);
    this.#queues.delete(clientId);
  }

  #queue(clientId: string): QueueEntry[] {
    let queue = this.#queues.get(clientId);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(clientId, queue);
    }
    return queue;
  }
}
