import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/** A plain TCP relay to a peer-link URL, which a test can cut or block like a network. */
export interface Relay extends AsyncDisposable {
  /** `ws://127.0.0.1:<port>/peer`: give it as a peer route. */
  readonly url: string;
  /** Connections carried so far. */
  connections(): number;
  /** Drops every connection it carries now (both sides see the TCP connection end). */
  cut(): void;
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
  const cut = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `ws://127.0.0.1:${port}/peer`,
    connections: () => connections,
    cut,
    block() {
      blocked = true;
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
