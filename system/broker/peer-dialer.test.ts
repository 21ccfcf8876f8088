import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { PEER_LINK_SUBPROTOCOL } from '../protocol/index.ts';
import { dialPeer } from './peer-dialer.ts';

describe('dialPeer', () => {
  it('hands over the frames that came with the open once, and leaves nothing of the dial on the socket', async () => {
    // A link server that speaks first, in the same turn as the upgrade: its frame may be read
    // before whoever awaits the dial listens.
    const server = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: () => PEER_LINK_SUBPROTOCOL,
    });
    server.on('connection', (ws) => ws.send(Buffer.from('first'), { binary: true }));
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const dialed = await dialPeer(`ws://127.0.0.1:${port}/peer`, 'a-token', 1024);
      // The server's pong comes after its first frame on the same connection: by then that
      // frame was read, and kept.
      dialed.ws.ping();
      await once(dialed.ws, 'pong');
      const early = dialed.takeEarly();
      expect(early.map(([data, isBinary]) => [data.toString(), isBinary])).toEqual([
        ['first', true],
      ]);
      expect(dialed.takeEarly()).toEqual([]);
      // [design] A listener left behind would hold the dial's scope (the early frames, the
      // token) for the life of the link.
      for (const event of ['message', 'unexpected-response', 'error', 'open', 'upgrade', 'pong']) {
        expect(dialed.ws.listenerCount(event), event).toBe(0);
      }
      dialed.ws.terminate();
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
