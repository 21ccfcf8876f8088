import type { Aedes, AedesOptions, Client, PublishPacket } from 'aedes';
import type { Clock, Logger } from '../common/index.ts';
import {
  type ClientAuth,
  type ClientPrincipal,
  clientIdAllowed,
  mayPublish,
  maySubscribe,
} from './mqtt-client-auth.ts';
import { type ClientLimits, PublishBucket, RetainedLedger } from './mqtt-client-limits.ts';
import { ClientRefusal, type ClientRefusalReason } from './mqtt-client-refusals.ts';
import { discardWill } from './will-discard.ts';

export interface ClientGuardOptions {
  auth: ClientAuth;
  limits: ClientLimits;
  clock: Clock;
  logger: Logger;
  /** Counts a refusal (or, for `rate`, a publish held back) by its fixed reason. */
  refused: (reason: ClientRefusalReason) => void;
}

/** What the broker knows of one connected client. */
interface ClientState {
  readonly principal: ClientPrincipal;
  /** Whose retained messages these are: the registered id, or the client id if anonymous. */
  readonly owner: string;
  readonly bucket: PublishBucket;
  readonly subscriptions: Set<string>;
  inflight: number;
  /** Set while aedes' deliverQoS runs, so authorizeForward knows the delivery is QoS 1/2. */
  deliveringQos: boolean;
  throttleLogged: boolean;
  /** Topics this client published on before, all allowed: most clients publish on a few. */
  readonly allowedTopics: Set<string>;
}

/** Bound of a client's allowed-topic memo; past it the memo starts over. */
const MAX_REMEMBERED_TOPICS = 256;

export interface ClientGuard {
  /** aedes hooks: CONNECT, SUBSCRIBE and outgoing deliveries. */
  readonly hooks: Required<
    Pick<AedesOptions, 'authenticate' | 'authorizeSubscribe' | 'authorizeForward'>
  >;
  /**
   * The PUBLISH check, run before anything else sees the publish: `forward` (which hands it to
   * the peers and answers aedes itself) runs only for a publish that passed, and says whether
   * the broker took it; a refused publish reaches nobody and closes the connection.
   */
  authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    callback: (error?: Error | null) => void,
    forward: () => boolean,
  ): void;
  /** Follows acknowledgements and unsubscribes; counts what the store retains already. */
  attach(aedes: Aedes): Promise<void>;
  retained(): { messages: number; bytes: number };
  /** Who the client authenticated as; undefined before its CONNECT was accepted. */
  principalOf(client: Client): ClientPrincipal | undefined;
  /**
   * A client's registration was revoked or its secret rotated: its remembered logins are
   * forgotten and its connections closed, their wills unpublished; it must authenticate again.
   * Answers how many closed.
   */
  revoke(id: string): number;
  /**
   * A retained PUBLISH from peer `origin`: true when the broker may keep it (within the
   * broker-wide bounds, which then count it); false when it is refused (counted), and is then
   * delivered but not kept.
   */
  admitPeerRetain(origin: string, topic: string, payloadBytes: number): boolean;
  /** One token was revoked by its `jti`: clients that logged in with it are closed, as above. */
  revokeToken(jti: string): number;
  close(): void;
}

/**
 * Authentication, topic authorization and per-client limits of a broker's MQTT clients, as
 * aedes hooks (docs/protocol.md, "MQTT clients"). Every refusal is counted by reason.
 */
export function createClientGuard(options: ClientGuardOptions): ClientGuard {
  const { auth, limits, clock, logger } = options;
  const states = new WeakMap<Client, ClientState>();
  const ledger = new RetainedLedger(limits);
  const timers = new Set<NodeJS.Timeout>();
  // [design] Both outside authorizePublish, which must make no closure: one there, even on the
  // throttled path only, had every publish allocate the variables it captures (about 0.2 KiB
  // per message, bench:alloc).
  type Forwarded = { topic: string; retain: boolean };
  const forwardAndCommit = (
    forward: () => boolean,
    packet: Forwarded,
    owner: string,
    payloadBytes: number,
  ) => {
    if (forward() && packet.retain) ledger.commit(owner, packet.topic, payloadBytes);
  };
  const forwardLater = (
    waitMs: number,
    forward: () => boolean,
    packet: Forwarded,
    owner: string,
    payloadBytes: number,
  ) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      forwardAndCommit(forward, packet, owner, payloadBytes);
    }, waitMs);
    timers.add(timer);
  };
  /** Connected clients by registered id, to close them when that id is revoked. */
  const byId = new Map<string, Set<Client>>();

  const refuse = (reason: ClientRefusalReason, client: Client | null, error: ClientRefusal) => {
    options.refused(reason);
    logger.info(
      { code: error.code, reason, clientId: client?.id, principal: principalId(client) },
      `MQTT client refused: ${error.message}`,
    );
    return error;
  };
  const principalId = (client: Client | null) =>
    client === null ? undefined : states.get(client)?.principal.id;
  /**
   * Closes a revoked client's connection without its will: [design] the will was accepted while
   * the client was trusted, and a revocation must not make the broker publish for it.
   */
  const cutOff = (client: Client) => {
    discardWill(client).catch((error: unknown) =>
      logger.warn({ err: error, clientId: client.id }, 'stored will of a revoked client kept'),
    );
    client.close();
  };

  /** Counts QoS 1/2 deliveries: aedes' deliverQoS is the one path they take to a client. */
  const followDeliveries = (client: Client, state: ClientState) => {
    const inner = client as unknown as { deliverQoS: (packet: unknown, done: unknown) => void };
    const deliverQoS = inner.deliverQoS;
    inner.deliverQoS = (packet, done) => {
      state.deliveringQos = true;
      try {
        deliverQoS(packet, done);
      } finally {
        state.deliveringQos = false;
      }
    };
  };

  return {
    hooks: {
      authenticate(client, username, password, done) {
        auth
          .authenticate(username, password)
          .then((principal) => {
            if (!clientIdAllowed(principal, client.id)) {
              throw new ClientRefusal(
                'client_id',
                `client id ${client.id} is not ${principal.id}'s`,
              );
            }
            const will = (client as unknown as { _will?: { topic?: string } })._will;
            if (typeof will?.topic === 'string' && !mayPublish(principal, will.topic)) {
              throw new ClientRefusal('will_scope', `the will topic ${will.topic} is out of scope`);
            }
            const state: ClientState = {
              principal,
              owner: principal.id ?? `anonymous:${client.id}`,
              bucket: new PublishBucket(limits.publishRate, clock.now()),
              subscriptions: new Set(),
              inflight: 0,
              deliveringQos: false,
              throttleLogged: false,
              allowedTopics: new Set(),
            };
            states.set(client, state);
            followDeliveries(client, state);
            if (principal.id !== undefined) {
              let clients = byId.get(principal.id);
              if (clients === undefined) {
                clients = new Set();
                byId.set(principal.id, clients);
              }
              clients.add(client);
            }
          })
          .then(
            // Outside the checks' promise chain, so nothing aedes throws is taken for a refusal.
            () => done(null, true),
            (error: unknown) => {
              const refusal =
                error instanceof ClientRefusal
                  ? error
                  : new ClientRefusal('auth_unavailable', String(error));
              done(refuse(refusal.reason, client, refusal) as never, false);
            },
          )
          .catch((error: unknown) => logger.error({ err: error }, 'aedes failed after CONNECT'));
      },
      authorizeSubscribe(client, subscription, done) {
        const state = states.get(client);
        if (state === undefined) return done(null, null);
        const filter = subscription.topic;
        if (!maySubscribe(state.principal, filter)) {
          refuse('sub_scope', client, new ClientRefusal('sub_scope', `${filter} is out of scope`));
          return done(null, null);
        }
        if (
          !state.subscriptions.has(filter) &&
          state.subscriptions.size >= limits.maxSubscriptionsPerClient
        ) {
          refuse(
            'subscriptions',
            client,
            new ClientRefusal('subscriptions', `more than ${limits.maxSubscriptionsPerClient}`),
          );
          return done(null, null);
        }
        state.subscriptions.add(filter);
        done(null, subscription);
      },
      authorizeForward(client, packet) {
        const state = states.get(client);
        if (state === undefined || !state.deliveringQos || packet.qos === 0) return packet;
        if (state.inflight >= limits.maxInflightPerClient) {
          options.refused('inflight');
          return null;
        }
        state.inflight += 1;
        return packet;
      },
    },

    authorizePublish(client, packet, callback, forward) {
      // A will published after its client is gone: its topic was checked at CONNECT.
      const state = client === null ? undefined : states.get(client);
      if (client !== null && state === undefined) {
        callback(new ClientRefusal('pub_scope', 'publish before the client was authenticated'));
        return;
      }
      const payloadBytes = (packet.payload as Buffer).length;
      if (state !== undefined) {
        if (!state.allowedTopics.has(packet.topic)) {
          if (!mayPublish(state.principal, packet.topic)) {
            const error = new ClientRefusal('pub_scope', `${packet.topic} is out of scope`);
            callback(refuse('pub_scope', client, error));
            return;
          }
          if (state.allowedTopics.size >= MAX_REMEMBERED_TOPICS) state.allowedTopics.clear();
          state.allowedTopics.add(packet.topic);
        }
        if (packet.retain) {
          const reason = ledger.check(state.owner, packet.topic, payloadBytes);
          if (reason !== undefined) {
            const error = new ClientRefusal(reason, `retaining on ${packet.topic}`);
            callback(refuse(reason, client, error));
            return;
          }
        }
      }
      const owner = state?.owner ?? '';
      const waitMs = state === undefined ? 0 : state.bucket.take(clock.now());
      if (waitMs === 0) {
        forwardAndCommit(forward, packet, owner, payloadBytes);
        return;
      }
      options.refused('rate');
      if (state !== undefined && !state.throttleLogged) {
        state.throttleLogged = true;
        logger.info(
          { clientId: client?.id, principal: state.principal.id },
          'MQTT client throttled',
        );
      }
      forwardLater(waitMs, forward, packet, owner, payloadBytes);
    },

    async attach(aedes) {
      aedes.on('ack', (packet, client) => {
        const state = states.get(client);
        // [design] Only an acknowledgement of a delivery the broker kept counts for a
        // persistent session; a clean session keeps nothing, so any PUBACK counts there.
        if (state !== undefined && state.inflight > 0 && (packet !== undefined || client.clean)) {
          state.inflight -= 1;
        }
      });
      aedes.on('clientDisconnect', (client) => {
        const id = states.get(client)?.principal.id;
        const clients = id === undefined ? undefined : byId.get(id);
        clients?.delete(client);
        if (id !== undefined && clients?.size === 0) byId.delete(id);
      });
      aedes.on('unsubscribe', (filters, client) => {
        const state = states.get(client);
        for (const filter of filters) state?.subscriptions.delete(filter);
      });
      const { persistence } = aedes as unknown as {
        persistence?: { createRetainedStream?: (pattern: string) => AsyncIterable<PublishPacket> };
      };
      if (persistence?.createRetainedStream === undefined) return;
      for await (const stored of persistence.createRetainedStream('#')) {
        ledger.seed(stored.topic, (stored.payload as Buffer).length);
      }
    },
    retained: () => ledger.totals(),
    principalOf: (client) => states.get(client)?.principal,
    revoke(id) {
      auth.forget(id);
      const clients = [...(byId.get(id) ?? [])];
      byId.delete(id);
      for (const client of clients) cutOff(client);
      return clients.length;
    },
    admitPeerRetain(origin, topic, payloadBytes) {
      const reason = ledger.checkBroker(topic, payloadBytes);
      if (reason !== undefined) {
        options.refused(reason);
        return false;
      }
      // A NUL cannot start a client id or a registered id: peers never share an owner with one.
      ledger.commit(`\0peer ${origin}`, topic, payloadBytes);
      return true;
    },
    revokeToken(jti) {
      let closed = 0;
      for (const clients of byId.values()) {
        for (const client of clients) {
          if (states.get(client)?.principal.jti !== jti) continue;
          cutOff(client);
          closed++;
        }
      }
      return closed;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
