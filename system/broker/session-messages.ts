import type { Aedes, Client } from 'aedes';
import { filterCovers, topicMatches } from '../protocol/index.ts';
import type { DurablePersistence } from './durable-persistence.ts';
import { AedesPacket, type Packet } from './durable-persistence-memory.ts';
import { type MovedMessage, movedMessageBytes } from './session-wire.ts';

/** aedes keeps its connected clients by id; its type declarations leave the map out. */
export function clientsOf(aedes: Aedes): Readonly<Record<string, Client | undefined>> {
  return (aedes as unknown as { clients: Record<string, Client | undefined> }).clients;
}

/** A queued packet as it moves to another broker. */
export function movedOf(packet: Packet): MovedMessage {
  const payload = packet.payload as Buffer | string | undefined;
  return {
    topic: packet.topic as string,
    payload: Buffer.from(payload ?? '').toString('base64'),
    qos: (packet.qos as number) > 0 ? 1 : 0,
    // Sent before and not acknowledged, or already a tail: the client may have it.
    dup: packet.dup === true || (packet.messageId !== undefined && packet.messageId !== null),
  };
}

/** Is `topic` (a name or a filter) inside one of the scope's filters? */
export function covered(scope: readonly string[], topic: string): boolean {
  return scope.some((filter) => filterCovers(filter, topic));
}

/**
 * Queue entries `from` … `end` (exclusive) that `keep` accepts, as one page of at most
 * `pageBytes`; `next` is where the following page starts.
 */
export function pageOf(
  queue: readonly Packet[],
  from: number,
  end: number,
  pageBytes: number,
  keep: (message: MovedMessage) => boolean = () => true,
): { messages: MovedMessage[]; next: number } {
  const messages: MovedMessage[] = [];
  let bytes = 0;
  let index = from;
  for (; index < end && bytes < pageBytes; index += 1) {
    const moved = movedOf(queue[index]!);
    if (!keep(moved)) continue;
    messages.push(moved);
    bytes += movedMessageBytes(moved);
  }
  return { messages, next: index };
}

/**
 * Puts moved messages into the client's session here: sent at once if it is connected, else
 * queued. Only topics the session subscribes are taken: a giver cannot make a client receive
 * others. Answers how many were refused for that.
 */
export async function deliverMoved(
  aedes: Aedes,
  persistence: DurablePersistence,
  clientId: string,
  messages: readonly MovedMessage[],
  markDup: boolean,
): Promise<number> {
  if (messages.length === 0) return 0;
  const { subscriptions } = await persistence.sessionOf(clientId);
  const filters = subscriptions.map(({ topic }) => topic);
  const live = clientsOf(aedes)[clientId];
  let refused = 0;
  for (const message of messages) {
    if (!filters.some((filter) => topicMatches(filter, message.topic))) {
      refused += 1;
      continue;
    }
    const publish = {
      cmd: 'publish' as const,
      topic: message.topic,
      payload: Buffer.from(message.payload, 'base64'),
      qos: message.qos,
      retain: false,
      dup: markDup || message.dup,
    };
    if (live?.connected === true) {
      await new Promise<void>((resolve) => live.publish(publish, () => resolve()));
    } else if (publish.qos > 0) {
      await persistence.outgoingEnqueue({ clientId }, new AedesPacket(publish, aedes) as Packet);
    }
  }
  return refused;
}
