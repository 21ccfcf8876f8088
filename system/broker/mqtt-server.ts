import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { batchWritesPerTurn } from './write-batching.ts';

export interface MqttServerOptions {
  host: string;
  /** MQTT over TCP; 0 picks a free port. */
  port: number;
  /** MQTT over WebSocket (path /mqtt) for browser clients; undefined turns it off. */
  wsPort?: number | undefined;
  /** aedes hooks (authorizePublish, published, ...), the seams the broker service plugs into. */
  hooks?: Omit<AedesOptions, 'id'>;
  id: string;
}

export interface MqttServer {
  readonly aedes: Aedes;
  /** `mqtt://host:port` */
  readonly mqttUrl: string;
  /** `ws://host:port/mqtt`, when MQTT over WebSocket is on. */
  readonly wsUrl: string | undefined;
  close(): Promise<void>;
}

function urlOf(scheme: string, server: Server | HttpServer, path = ''): string {
  const { address, family, port } = server.address() as AddressInfo;
  return `${scheme}://${family === 'IPv6' ? `[${address}]` : address}:${port}${path}`;
}

/**
 * An embedded aedes broker for MQTT 3.1.1 clients over TCP and, optionally, over WebSocket.
 * Knows nothing of the federation: the broker service attaches through aedes hooks and events.
 */
export async function startMqttServer(options: MqttServerOptions): Promise<MqttServer> {
  const aedes = await Aedes.createBroker({ ...options.hooks, id: options.id });
  // Small MQTT packets must not wait for Nagle's algorithm; batching per turn replaces it.
  const tcp = createTcpServer({ noDelay: true }, (socket) => {
    batchWritesPerTurn(socket);
    aedes.handle(socket);
  });
  tcp.listen(options.port, options.host);
  await once(tcp, 'listening');

  let http: HttpServer | undefined;
  let wss: WebSocketServer | undefined;
  if (options.wsPort !== undefined) {
    http = createServer((_request, response) => response.writeHead(426).end());
    wss = new WebSocketServer({ server: http, path: '/mqtt' });
    wss.on('connection', (socket, request) => {
      aedes.handle(createWebSocketStream(socket), request);
    });
    http.listen(options.wsPort, options.host);
    await once(http, 'listening');
  }

  return {
    aedes,
    mqttUrl: urlOf('mqtt', tcp),
    wsUrl: http === undefined ? undefined : urlOf('ws', http, '/mqtt'),
    async close() {
      for (const client of wss?.clients ?? []) client.terminate();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      tcp.close();
      http?.close();
      http?.closeAllConnections();
    },
  };
}
