import type { Aedes, Client } from 'aedes';
import type { Clock, Logger } from '../common/index.ts';
import type { ClientGuard } from './mqtt-client-guard.ts';
import { ClientRefusal, type ClientRefusalReason } from './mqtt-client-refusals.ts';
import { clientsOf } from './session-messages.ts';

/** A refused CONNECT at the cap is logged at most this often; the metric counts every one. */
const CAP_LOG_INTERVAL_MS = 10_000;

/**
 * The guard, with at most `maxClients` connected MQTT clients. [design] A CONNECT over the cap is
 * refused with CONNACK 3 and counted (`max_clients`); the log says so once per interval with the
 * number refused since, so a connection flood cannot flood the log too. The cap is checked before
 * authentication, so a flood at the cap costs no credential checks, and counts the CONNECTs being
 * authenticated or registered, so concurrent ones cannot overshoot it. A CONNECT with the id of a
 * connected client takes that client's place (MQTT-3.1.4-2) and so is never refused: a client
 * reconnecting over its half-open old connection must get in at the cap.
 */
export function capClients(
  guard: ClientGuard,
  options: {
    maxClients: number;
    clock: Clock;
    logger: Logger;
    refused: (reason: ClientRefusalReason) => void;
  },
): ClientGuard {
  const { maxClients, clock, logger } = options;
  let aedes: Aedes | undefined;
  /** CONNECTs past the cap check, not yet counted by aedes (`connectedClients`). */
  const admitted = new Set<Client>();
  let lastLogAt = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  const atCap = (client: Client) => {
    if (aedes === undefined) return false;
    if (clientsOf(aedes)[client.id] !== undefined) return false;
    return aedes.connectedClients + admitted.size >= maxClients;
  };
  const refuse = () => {
    options.refused('max_clients');
    const refusal = new ClientRefusal(
      'max_clients',
      `the broker holds its maximum of ${maxClients} MQTT clients`,
    );
    unlogged += 1;
    const now = clock.now();
    if (now - lastLogAt >= CAP_LOG_INTERVAL_MS) {
      logger.warn(
        { code: refusal.code, reason: 'max_clients', maxClients, refused: unlogged },
        `MQTT client refused: ${refusal.message}`,
      );
      lastLogAt = now;
      unlogged = 0;
    }
    return refusal;
  };
  const authenticate = guard.hooks.authenticate;
  return {
    ...guard,
    hooks: {
      ...guard.hooks,
      authenticate(client, username, password, done) {
        if (atCap(client)) return done(refuse() as never, false);
        // The slot is held from now on, while the credentials are checked, so concurrent
        // CONNECTs cannot overshoot the cap; aedes counts the client once registered (`client`
        // event), and a client refused or gone before that gives its slot back.
        admitted.add(client);
        client.conn.once('close', () => admitted.delete(client));
        authenticate(client, username, password, (error, success) => {
          if (error !== null || success !== true) admitted.delete(client);
          done(error, success);
        });
      },
    },
    async attach(broker) {
      aedes = broker;
      broker.on('client', (client) => admitted.delete(client));
      await guard.attach(broker);
    },
  };
}
