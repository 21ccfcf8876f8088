import type { Server } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import {
  CatalogueWebSocket,
  closeGracefully,
  type Logger,
  serveUpgrades,
  startPongHeartbeat,
} from '../common/index.ts';
import {
  MqfedError,
  REVOCATIONS_PATH,
  type RevocationEntry,
  type RevocationFeedFrame,
} from '../protocol/index.ts';
import type { RevocationList } from './revocation-list.ts';

export interface RevocationFeedOptions {
  list: RevocationList;
  logger: Logger;
  /** Most feed sockets open at once; more are refused with RATE_LIMITED. */
  maxConnections: number;
  /** Ping interval; a subscriber that missed the previous pong is dropped. */
  heartbeatMs: number;
  /** A subscriber whose unsent backlog exceeds this is dropped. */
  maxBufferBytes: number;
}

export interface RevocationFeed {
  readonly sockets: number;
  close(): Promise<void>;
}

/**
 * `GET /revocations` as a WebSocket: the whole list on connect, then each entry as it is made.
 *
 * [design] Public, like the JWKS: every verifier needs it, including services that hold no
 * credentials of their own (discovery), and a verifier must not need the auth service's good
 * will to learn that someone was revoked. What it tells (service ids that were revoked, jtis) grants
 * nothing. What it costs is bounded: a fixed number of sockets, no frames read from them, a
 * heartbeat that frees the slot of a vanished subscriber, a cap on each socket's backlog.
 */
export function attachRevocationFeed(
  server: Server,
  options: RevocationFeedOptions,
): RevocationFeed {
  const { list, logger } = options;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024,
    perMessageDeflate: false,
    WebSocket: CatalogueWebSocket,
  });
  let closing = false;

  const send = (ws: WebSocket, text: string) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > options.maxBufferBytes) {
      logger.warn({ bufferedBytes: ws.bufferedAmount }, 'revocation subscriber too slow, dropped');
      ws.terminate();
      return;
    }
    ws.send(text);
  };
  const encode = (frame: RevocationFeedFrame) => JSON.stringify(frame);
  const stopListening = list.onEntry((entry: RevocationEntry) => {
    const text = encode({ type: 'entry', entry });
    for (const ws of wss.clients) send(ws, text);
  });

  const refuseBeyondCap = () => {
    if (wss.clients.size >= options.maxConnections) {
      throw new MqfedError(
        'RATE_LIMITED',
        'the revocation feed has as many subscribers as allowed',
      );
    }
  };
  serveUpgrades(server, wss, {
    isClosing: () => closing,
    async check(request) {
      const path = new URL(request.url ?? '/', 'http://feed').pathname;
      if (path !== REVOCATIONS_PATH) {
        throw new MqfedError('ROUTE_NOT_FOUND', `no route GET ${path}`);
      }
      refuseBeyondCap();
    },
    // Again in the turn that accepts: upgrades checked together cannot all slip under the cap.
    recheck: refuseBeyondCap,
    accept(ws) {
      ws.on('message', () => ws.close(4400, 'INVALID_REQUEST'));
      // Snapshot and later entries are sent from the same turn: nothing can fall between.
      send(
        ws,
        encode({ type: 'snapshot', heartbeatMs: options.heartbeatMs, entries: list.entries() }),
      );
    },
    onRefused(failure) {
      logger.warn({ code: failure.code, reason: failure.message }, 'revocation feed refused');
    },
  });

  const stopHeartbeat = startPongHeartbeat(wss, options.heartbeatMs);

  return {
    get sockets() {
      return wss.clients.size;
    },
    async close() {
      closing = true;
      stopHeartbeat();
      stopListening();
      await Promise.all([...wss.clients].map((ws) => closeGracefully(ws)));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
