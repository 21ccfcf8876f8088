import type { Aedes, Client, PublishPacket } from 'aedes';
import type { Logger } from '../common/index.ts';
import type { MemoryPersistenceApi, Packet } from './durable-persistence-memory.ts';
import { clientsOf } from './session-messages.ts';

/** What the sweep needs of the broker's store (./durable-persistence.ts). */
export type WillStore = Pick<MemoryPersistenceApi, 'streamWill' | 'getWill' | 'delWill'>;

export interface RestoredWillsOptions {
  aedes: Aedes;
  persistence: WillStore;
  logger: Logger;
}

export interface RestoredWills {
  /** How many wills were published, once the sweep is over. */
  readonly done: Promise<number>;
  /** Ends the sweep after the will it is publishing, and waits for it. */
  stop(): Promise<void>;
}

type StoredWill = Packet & { clientId: string; topic: string; payload: unknown };

/**
 * Publishes, once, the wills the previous run of this broker left in its store: their
 * connections died with that process, without a DISCONNECT, so each will is due (MQTT-3.1.2-8).
 *
 * [design] aedes would publish them at its first will sweep, four heartbeats after start (4 min
 * by default), through the same `authorizePublish` hook with no client. The broker service runs
 * this sweep as soon as it knows its peers' interest (the discovery watch is up), so each will
 * reaches the other brokers' subscribers within seconds of the restart; earlier, a will would
 * reach local subscribers only. The store hands out only those restored wills (see the header
 * of ./durable-persistence.ts): wills of this run's connections stay with their live clients.
 * A client that reconnected before the sweep replaced its will on CONNECT: the old one is gone.
 *
 * A will the hook refuses (a peer's outbox full) stays in the store for aedes' own sweep to try
 * again, as aedes does.
 */
export function publishRestoredWills(options: RestoredWillsOptions): RestoredWills {
  const { aedes, persistence, logger } = options;
  let stopped = false;
  const authorize = (client: Client | null, will: PublishPacket) =>
    new Promise<void>((resolve, reject) =>
      aedes.authorizePublish(client, will, (error) => (error ? reject(error) : resolve())),
    );
  const publish = (will: PublishPacket) =>
    new Promise<void>((resolve, reject) =>
      aedes.publish(will, (error) => (error ? reject(error) : resolve())),
    );
  const clients = clientsOf(aedes);

  const sweep = async () => {
    let published = 0;
    // This broker is alive: only wills of no live broker, the restored ones, come out.
    const wills = persistence.streamWill({ [aedes.id]: Date.now() });
    try {
      for await (const will of wills as AsyncIterable<StoredWill>) {
        if (stopped || aedes.closed) break;
        const packet = will as unknown as PublishPacket;
        // As aedes' sweep does: the client with that id if it is connected now, else none.
        await authorize(clients[will.clientId] ?? null, packet);
        await publish(packet);
        published++;
        // Unless the client came back meanwhile and stored a will of its own.
        const current = await persistence.getWill({ id: will.clientId });
        if (current !== undefined && sameWill(current, will)) {
          await persistence.delWill({ id: will.clientId });
        }
      }
    } catch (error) {
      logger.warn({ err: error, published }, 'restored wills: sweep stopped; aedes retries later');
    } finally {
      wills.destroy();
    }
    if (published > 0) logger.info({ published }, 'restored wills published');
    return published;
  };
  const done = sweep();
  return {
    done,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

function sameWill(stored: Packet, will: StoredWill): boolean {
  return (
    stored.topic === will.topic &&
    stored.qos === will.qos &&
    Boolean(stored.retain) === Boolean(will.retain) &&
    bytesOf(stored.payload)?.equals(bytesOf(will.payload) ?? Buffer.alloc(0)) === true
  );
}

/** A payload as aedes or the store hand it out: a Buffer, another byte view, or a string. */
function bytesOf(payload: unknown): Buffer | undefined {
  if (typeof payload === 'string') return Buffer.from(payload);
  if (payload instanceof Uint8Array) {
    return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  }
  return undefined;
}
