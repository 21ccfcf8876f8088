import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Server,
  type Socket,
} from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesOptions } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { isLoopbackHost, type TlsConfig } from '../common/index.ts';
import { MqfedError } from '../protocol/index.ts';
import { limitPacketSize } from './mqtt-packet-size.ts';
import { batchWritesPerTurn } from './write-batching.ts';

export interface MqttServerOptions {
  host: string;
  /** Plain MQTT over TCP; 0 picks a free port. */
  port: number;
  /** Where the plain listener binds; `host` when absent. */
  plainHost?: string | undefined;
  /** The server's certificate and key: MQTTS on `tlsPort`, and WSS instead of WS. */
  tls?: Pick<TlsConfig, 'cert' | 'key'> | undefined;
  /** MQTT over TLS (needs `tls`); 0 picks a free port. */
  tlsPort?: number | undefined;
  /**
   * Let a plain listener bind a non-loopback address. Without it that is refused
   * (PLAIN_LISTENER_NOT_LOOPBACK): clear text stays on this machine unless asked for. [design]
   */
  insecure?: boolean | undefined;
  /** MQTT over WebSocket (path /mqtt), WSS with `tls`, for browser clients; undefined: off. */
  wsPort?: number | undefined;
  /** Largest MQTT packet a client may send; a bigger one closes its connection unread. */
  maxPacketBytes?: number | undefined;
  /** Told of each connection closed for an oversized packet. */
  onPacketTooLarge?: (() => void) | undefined;
  /** aedes hooks (authorizePublish, published, ...), the seams the broker service plugs into. */
  hooks?: Omit<AedesOptions, 'id'>;
  id: string;
}

export interface MqttServer {
  readonly aedes: Aedes;
  /** `mqtt://host:port` */
  readonly mqttUrl: string;
  /** `mqtts://host:port`, when MQTTS is on. */
  readonly mqttsUrl: string | undefined;
  /** `ws://host:port/mqtt` (`wss://` with TLS), when MQTT over WebSocket is on. */
  readonly wsUrl: string | undefined;
  close(): Promise<void>;
}

function urlOf(scheme: string, server: Server | HttpServer, path = ''): string {
  const { address, family, port } = server.address() as AddressInfo;
  return `${scheme}://${family === 'IPv6' ? `[${address}]` : address}:${port}${path}`;
}

/**
 * An embedded aedes broker for MQTT 3.1.1 clients over TCP, TLS and, optionally, WebSocket.
 * Knows nothing of the federation: the broker service attaches through aedes hooks and events.
 */
export async function startMqttServer(options: MqttServerOptions): Promise<MqttServer> {
  const plainHost = options.plainHost ?? options.host;
  const plainWs = options.wsPort !== undefined && options.tls === undefined;
  if (!options.insecure) {
    for (const [on, host] of [
      [true, plainHost],
      [plainWs, options.host],
    ] as const) {
      if (on && !isLoopbackHost(host)) {
        throw new MqfedError(
          'PLAIN_LISTENER_NOT_LOOPBACK',
          `plain MQTT on ${host} would carry credentials in clear text; bind a loopback ` +
            'address, use TLS, or set insecure',
        );
      }
    }
  }
  if (options.tlsPort !== undefined && options.tls === undefined) {
    throw new MqfedError('INVALID_REQUEST', 'an MQTTS port needs a TLS certificate and key');
  }
  const aedes = await Aedes.createBroker({ ...options.hooks, id: options.id });
  const { maxPacketBytes, onPacketTooLarge } = options;
  if (maxPacketBytes !== undefined) {
    // Every listener hands its connections to aedes.handle: each is size-checked from there.
    const handleConnection = aedes.handle.bind(aedes);
    aedes.handle = (stream, request) => {
      limitPacketSize(stream, maxPacketBytes, () => onPacketTooLarge?.());
      return handleConnection(stream, request);
    };
  }
  const servers: (Server | HttpServer)[] = [];
  // Small MQTT packets must not wait for Nagle's algorithm; batching per turn replaces it.
  const handle = (socket: Socket) => {
    batchWritesPerTurn(socket);
    aedes.handle(socket);
  };
  const listen = async <S extends Server | HttpServer>(server: S, port: number, host: string) => {
    servers.push(server);
    // A port in use rejects here, and the listeners already up are closed by the caller.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server;
  };

  let wss: WebSocketServer | undefined;
  try {
    const tcp = await listen(createTcpServer({ noDelay: true }, handle), options.port, plainHost);
    const tls =
      options.tls === undefined || options.tlsPort === undefined
        ? undefined
        : await listen(
            createTlsServer({ ...options.tls, noDelay: true }, handle),
            options.tlsPort,
            options.host,
          );
    let http: HttpServer | undefined;
    if (options.wsPort !== undefined) {
      const refuse = (
        _request: unknown,
        response: { writeHead(status: number): { end(): void } },
      ) => response.writeHead(426).end();
      http =
        options.tls === undefined
          ? createServer(refuse)
          : (createHttpsServer({ ...options.tls }, refuse) as unknown as HttpServer);
      wss = new WebSocketServer({
        server: http,
        path: '/mqtt',
        // A frame may carry several MQTT packets; the packet limit itself is checked per packet.
        ...(maxPacketBytes === undefined ? {} : { maxPayload: maxPacketBytes + 64 * 1024 }),
      });
      wss.on('connection', (socket, request) => {
        aedes.handle(createWebSocketStream(socket), request);
      });
      await listen(http, options.wsPort, options.host);
    }
    return {
      aedes,
      mqttUrl: urlOf('mqtt', tcp),
      mqttsUrl: tls === undefined ? undefined : urlOf('mqtts', tls),
      wsUrl:
        http === undefined
          ? undefined
          : urlOf(options.tls === undefined ? 'ws' : 'wss', http, '/mqtt'),
      async close() {
        for (const client of wss?.clients ?? []) client.terminate();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        closeServers(servers);
      },
    };
  } catch (error) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    closeServers(servers);
    throw error;
  }
}

function closeServers(servers: readonly (Server | HttpServer)[]): void {
  for (const server of servers) {
    server.close();
    if ('closeAllConnections' in server) server.closeAllConnections();
  }
}
