import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import {
  CatalogueWebSocket,
  closeGracefully,
  serveUpgrades,
  startPongHeartbeat,
} from '../common/index.ts';
import { MqfedError } from '../protocol/index.ts';
import { READER_ROLES } from './caller-auth.ts';
import { serveWatchConnection, type WatchConnectionContext } from './watch-connection.ts';
import { WATCH_PATH } from './watch-frames.ts';

export interface WatchServerOptions extends WatchConnectionContext {
  maxWatchFrameBytes: number;
  heartbeatMs: number;
  /** Most open watch sockets of one token subject; more upgrades are WATCH_LIMIT_EXCEEDED. */
  maxSocketsPerSubject: number;
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
  // Open sockets per token subject; an entry leaves with the subject's last socket.
  const socketsOf = new Map<string, number>();
  let closing = false;

  serveUpgrades(server, wss, {
    isClosing: () => closing,
    async check(request) {
      const path = new URL(request.url ?? '/', 'http://watch').pathname;
      if (path !== WATCH_PATH) throw new MqfedError('ROUTE_NOT_FOUND', `no route GET ${path}`);
      return options.auth.authenticate(request.headers, READER_ROLES);
    },
    // Checked in the same turn as the socket is counted in `accept`: no upgrade slips between.
    recheck(claims) {
      const open = socketsOf.get(claims.sub) ?? 0;
      if (open >= options.maxSocketsPerSubject) {
        options.metrics.limitRefusals.inc({ limit: 'watch_sockets_per_subject' });
        throw new MqfedError(
          'WATCH_LIMIT_EXCEEDED',
          `${claims.sub} has ${open} watch sockets open, the most one token subject may`,
        );
      }
    },
    accept(ws, claims) {
      socketsOf.set(claims.sub, (socketsOf.get(claims.sub) ?? 0) + 1);
      ws.once('close', () => {
        const open = (socketsOf.get(claims.sub) ?? 1) - 1;
        if (open === 0) socketsOf.delete(claims.sub);
        else socketsOf.set(claims.sub, open);
      });
      serveWatchConnection(ws, claims, options);
    },
    onRefused(failure) {
      options.logger.warn({ code: failure.code, reason: failure.message }, 'watch upgrade refused');
    },
  });

  // [design] Dead watchers (a peer that vanished without a FIN) are found by ping/pong: one
  // missed pong per interval and the socket is dropped, freeing its watches.
  const stopHeartbeat = startPongHeartbeat(wss, options.heartbeatMs, () =>
    options.metrics.watchClosures.inc({ code: 'PONG_MISSING' }),
  );

  return {
    get sockets() {
      return wss.clients.size;
    },
    async close() {
      closing = true;
      stopHeartbeat();
      await Promise.all([...wss.clients].map((ws) => closeGracefully(ws)));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
