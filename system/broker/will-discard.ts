import type { Client } from 'aedes';

/** The parts of an aedes 1.2 client that hold its will (lib/client.js, lib/handlers/connect.js). */
interface ClientWithWill {
  readonly id: string;
  /** The will in force, set once the CONNECT was accepted; published by `close()`. */
  will: unknown;
  /** The will of the CONNECT being processed, copied to `will` when it is stored. */
  _will: unknown;
  readonly broker: {
    readonly id: string;
    readonly clients: Record<string, unknown>;
    readonly persistence: { delWill(client: { id: string; brokerId: string }): Promise<unknown> };
  };
}

/**
 * Forgets the will of a live connection, so that closing it, or losing it, publishes nothing,
 * and a restart of this broker does not publish the copy in its store either. Answers whether
 * the connection had a will.
 *
 * [design] For a connection the broker ends on purpose while its client lives on: a session
 * handed over to another broker (the client connected there, with its will in that CONNECT, so
 * the will lives on with it), and a client whose registration was revoked (its will, chosen
 * while it was trusted, would otherwise be published because it was cut off). Call it before
 * closing the connection: aedes reads the will once the close has released the connection's
 * subscriptions, so a close already past that point publishes it all the same.
 */
export async function discardWill(client: Client): Promise<boolean> {
  const inner = client as unknown as ClientWithWill;
  const had = inner.will !== null && inner.will !== undefined;
  inner.will = null;
  inner._will = null;
  // The stored copy, unless a newer connection of the same client id holds this broker's slot:
  // the stored will is then that connection's.
  const current = inner.broker.clients[inner.id];
  if (current === undefined || current === client) {
    await inner.broker.persistence.delWill({ id: inner.id, brokerId: inner.broker.id });
  }
  return had;
}
