import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type Ack, connectClient, nextEvent, startTestFederation } from './broker.fixtures.ts';

/** A plain TCP relay to `target` that counts the connections it carried. */
async function relayTo(
  target: URL,
): Promise<{ url: string; connections: () => number } & AsyncDisposable> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    connections++;
    const outbound = connect(Number(target.port), target.hostname);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
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
  return {
    url: `ws://127.0.0.1:${port}${target.pathname}`,
    connections: () => connections,
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('peer routes', () => {
  it('a broker dials a peer at its route instead of the advertised URL, and data flows through it', async () => {
    await using federation = await startTestFederation({ brokers: ['a'] });
    const a = federation.broker('a');
    await using relay = await relayTo(new URL(a.linkUrl));
    const b = await federation.startBroker('b', { peerRoutes: { a: relay.url } });
    await using publisher = await connectClient(a.mqttUrl);
    await using subscriber = await connectClient(b.mqttUrl);
    const linked = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === 'a');
    await subscriber.subscribe('routed/#');
    await publisher.publish('routed/t', 'announce');
    await linked;
    await publisher.publish('routed/t', 'through the relay');
    const got = await subscriber.receivedCount(1);
    expect(got.at(-1)?.payload.toString()).toBe('through the relay');
    expect(relay.connections()).toBe(1);
  });
});
