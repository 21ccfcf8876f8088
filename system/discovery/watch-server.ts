import type { Server } from 'node:http';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { CatalogueWebSocket, closeGracefully, serveUpgrades } from '../common/index.ts';
import { MqfedError } from '../protocol/index.ts';
import { READER_ROLES } from './caller-auth.ts';
import { serveWatchConnection, type WatchConnectionContext } from './watch-connection.ts';
import { WATCH_PATH } from './watch-frames.ts';

export interface WatchServerOptions extends WatchConnectionContext {
  maxWatchFrameBytes: number;
  heartbeatMs: number;
}

export interface WatchServer {
  readonly sockets: number;
  /** Closes every watch socket with 1001 (going away) and stops accepting new ones. */
  close(): Promise<void>;
}

/**
 * The watch endpoint: WebSocket upgrades of `GET /watch` on the service's HTTP server.
 *
 * [design] The token is checked during the upgrade, from the `Authorization: Bearer` header, and
 * a refusal is a plain HTTP answer with the JSON error body: no WebSocket ever exists for an
 * unauthenticated caller. Tokens in a query parameter or a subprotocol are not accepted: they end
 * up in logs and proxies, and the callers are services, not browsers, so they can set headers.
 */
export function attachWatchServer(server: Server, options: WatchServerOptions): WatchServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxWatchFrameBytes,
    perMessageDeflate: false,
    WebSocket: CatalogueWebSocket,
  });
  const awaitingPong = new WeakSet<WebSocket>();
  let closing = false;

  serveUpgrades(server, wss, {
    isClosing: () => closing,
    async check(request) {
      const path = new URL(request.url ?? '/', 'http://watch').pathname;
      if (path !== WATCH_PATH) throw new MqfedError('ROUTE_NOT_FOUND', `no route GET ${path}`);
      return options.auth.authenticate(request.headers, READER_ROLES);
    },
    accept(ws, claims) {
      ws.on('pong', () => awaitingPong.delete(ws));
      serveWatchConnection(ws, claims, options);
    },
    onRefused(failure) {
      options.logger.warn({ code: failure.code, reason: failure.message }, 'watch upgrade refused');
    },
  });

  // [design] Dead watchers (a peer that vanished without a FIN) are found by ping/pong: one
  // missed pong per interval and the socket is dropped, freeing its watches.
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (awaitingPong.has(ws)) {
        options.metrics.watchClosures.inc({ code: 'PONG_MISSING' });
        ws.terminate();
        continue;
      }
      awaitingPong.add(ws);
      ws.ping();
    }
  }, options.heartbeatMs).unref();

  return {
    get sockets() {
      return wss.clients.size;
    },
    async close() {
      closing = true;
      clearInterval(heartbeat);
      await Promise.all([...wss.clients].map((ws) => closeGracefully(ws)));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
