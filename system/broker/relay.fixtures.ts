import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { connectClient, learnsInterest, type TestFederation } from './broker.fixtures.ts';

/** A plain TCP relay to a peer-link URL, which a test can cut or block like a network. */
export interface Relay extends AsyncDisposable {
  /** `ws://127.0.0.1:<port>/peer`: give it as a peer route. */
  readonly url: string;
  /** Connections carried so far. */
  connections(): number;
  /** Drops every connection it carries now (both sides see the TCP connection end). */
  cut(): void;
  /**
   * Stops carrying bytes on every connection it carries now, both ways, without ending them:
   * the peers' TCP connection stays up and silent, as behind a dead router. New connections
   * are carried as before.
   */
  freeze(): void;
  /** Refuses every new connection until `unblock`; the ones it carries go on. */
  refuse(): void;
  /** Cuts, and refuses every new connection until `unblock`. */
  block(): void;
  unblock(): void;
}

/** `target` may be a function: the relay then dials wherever it points at each connection. */
export async function relayTo(target: URL | (() => URL)): Promise<Relay> {
  const targetNow = typeof target === 'function' ? target : () => target;
  let connections = 0;
  let blocked = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    if (blocked) {
      inbound.destroy();
      return;
    }
    connections++;
    const { port, hostname } = targetNow();
    const outbound = connect(Number(port), hostname);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const refuse = () => {
    blocked = true;
  };
  const cut = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `ws://127.0.0.1:${port}/peer`,
    connections: () => connections,
    cut,
    freeze() {
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    refuse,
    block() {
      refuse();
      cut();
    },
    unblock() {
      blocked = false;
    },
    async [Symbol.asyncDispose]() {
      cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Brokers `a` and `p` whose link runs through a relay in each direction, so a cut is a cut
 * whichever side dialed.
 */
export async function relayedPair(federation: TestFederation) {
  let aUrl = 'ws://127.0.0.1:1/peer';
  let pUrl = 'ws://127.0.0.1:1/peer';
  const toA = await relayTo(() => new URL(aUrl));
  const toP = await relayTo(() => new URL(pUrl));
  const a = await federation.startBroker('a', { peerRoutes: { p: toP.url } });
  aUrl = a.linkUrl;
  const p = await federation.startBroker('p', { peerRoutes: { a: toA.url } });
  pUrl = p.linkUrl;
  return {
    a,
    p,
    toA,
    toP,
    async [Symbol.asyncDispose]() {
      await toA[Symbol.asyncDispose]();
      await toP[Symbol.asyncDispose]();
    },
  };
}

/**
 * A relayed pair (`relayedPair`) with data already flowing over its link: a QoS 1 subscriber to
 * `<prefix>/#` on `a`, and a publisher on `p` whose first message (`before`, on `<prefix>/x`)
 * has been delivered.
 */
export async function relayedFlow(federation: TestFederation, prefix: string) {
  const pair = await relayedPair(federation);
  const subscriber = await connectClient(pair.a.mqttUrl);
  const learned = learnsInterest(pair.p, 'a', `${prefix}/#`);
  await subscriber.subscribe(`${prefix}/#`, 1);
  await learned;
  const publisher = await connectClient(pair.p.mqttUrl);
  await publisher.publish(`${prefix}/x`, 'before', 1);
  await subscriber.receivedCount(1);
  return {
    ...pair,
    subscriber,
    publisher,
    async [Symbol.asyncDispose]() {
      await publisher[Symbol.asyncDispose]();
      await subscriber[Symbol.asyncDispose]();
      await pair[Symbol.asyncDispose]();
    },
  };
}
