import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { Brokers, Subscription } from 'aedes';

/**
 * aedes' in-memory persistence class (aedes-persistence 11, asyncPersistence.js), typed for what
 * the durable persistence does with it. [design] Its own .d.ts declares aedes' full Client and
 * packet types for every argument, which the restore path, handing it plain rows, does not have.
 * aedes-persistence comes with aedes, as its default persistence; mqfed's package.json does not
 * name it, so the version is whichever aedes brings (11 with aedes 1.2).
 */

export type Packet = Record<string, unknown> & {
  messageId?: number | undefined;
  brokerId?: string | undefined;
  brokerCounter?: number;
};
export type ClientRef = { id: string };
export type BrokerRef = { id: string; counter?: number };

export interface MemoryPersistenceApi {
  readonly broker: BrokerRef;
  setup(broker: BrokerRef): Promise<void>;
  storeRetained(packet: object): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
  addSubscriptions(client: ClientRef, subs: Subscription[]): Promise<void>;
  removeSubscriptions(client: ClientRef, topics: string[]): Promise<void>;
  subscriptionsByClient(client: ClientRef): Promise<Subscription[]>;
  countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
  subscriptionsByTopic(pattern: string): Promise<(Subscription & { clientId: string })[]>;
  cleanSubscriptions(client: ClientRef): Promise<void>;
  outgoingEnqueue(sub: { clientId: string }, packet: Packet): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: Packet): Promise<void>;
  outgoingUpdate(client: ClientRef, packet: Packet): Promise<void>;
  outgoingClearMessageId(
    client: ClientRef,
    packet: { messageId?: number | undefined },
  ): Promise<Packet | undefined>;
  outgoingStream(client: ClientRef): Readable;
  incomingStorePacket(client: ClientRef, packet: object): Promise<void>;
  incomingGetPacket(client: ClientRef, packet: { messageId: number }): Promise<Packet>;
  incomingDelPacket(client: ClientRef, packet: { messageId: number }): Promise<void>;
  cleanIncoming(client: ClientRef): Promise<void>;
  putWill(client: ClientRef, packet: object): Promise<void>;
  getWill(client: ClientRef): Promise<(Packet & { clientId: string }) | undefined>;
  delWill(client: ClientRef): Promise<(Packet & { clientId: string }) | undefined>;
  streamWill(brokers?: Brokers): Readable;
  getClientList(topic: string): Readable;
  destroy(): Promise<void>;
}

const requireCjs = createRequire(import.meta.url);
// aedes-persistence publishes no `exports` map; the class is this file's module.exports.
export const MemoryPersistence = requireCjs('aedes-persistence/asyncPersistence.js') as {
  new (): MemoryPersistenceApi;
  /** With a broker, the copy gets that broker's id and its next counter. */
  Packet: new (
    original: object,
    broker?: object,
  ) => Packet;
};
/** aedes-packet's Packet, the copy aedes and the memory persistence queue. */
export const AedesPacket = MemoryPersistence.Packet;
