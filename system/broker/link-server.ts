import type { IncomingMessage, Server } from 'node:http';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { requireRole, type TokenVerifier } from '../auth/index.ts';
import {
  bearerTokenOf,
  CatalogueWebSocket,
  closeGracefully,
  type Logger,
  serveUpgrades,
} from '../common/index.ts';
import {
  DEFAULT_MAX_CONTROL_BYTES,
  MqfedError,
  PEER_LINK_SUBPROTOCOL,
  peerMessageSizeLimit,
  type TokenClaims,
} from '../protocol/index.ts';
import type { BrokerMetrics } from './broker-metrics.ts';
import { batchWritesPerTurn } from './write-batching.ts';

/** Where peer links upgrade on the broker service's HTTP port. */
export const PEER_LINK_PATH = '/peer';

export interface LinkServerOptions {
  selfId: string;
  verifier: TokenVerifier;
  maxPayloadBytes: number;
  metrics: BrokerMetrics;
  logger: Logger;
  /** Whether a connection from this peer may be taken now (one link per pair). */
  acceptsInbound(peerId: string): boolean;
  onLink(ws: WebSocket, claims: TokenClaims): void;
}

export interface LinkServer {
  close(): Promise<void>;
}

/**
 * The peer-link server: WebSocket upgrades of `GET /peer` with the subprotocol `mqfed.v3`.
 * [design] The bearer token is verified during the HTTP upgrade; a refusal is a plain HTTP answer
 * (401 for a missing, expired, forged or foreign token) with the JSON error body, so no WebSocket
 * ever exists for a caller that is not a broker service.
 */
export function attachLinkServer(server: Server, options: LinkServerOptions): LinkServer {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    WebSocket: CatalogueWebSocket,
    maxPayload: peerMessageSizeLimit({
      maxPayloadBytes: options.maxPayloadBytes,
      maxControlBytes: DEFAULT_MAX_CONTROL_BYTES,
    }),
    handleProtocols: (protocols) =>
      protocols.has(PEER_LINK_SUBPROTOCOL) ? PEER_LINK_SUBPROTOCOL : false,
  });
  let closing = false;

  const checkUpgrade = async (request: IncomingMessage): Promise<TokenClaims> => {
    const path = new URL(request.url ?? '/', 'http://peer').pathname;
    if (path !== PEER_LINK_PATH) throw new MqfedError('ROUTE_NOT_FOUND', `no route GET ${path}`);
    const claims = await options.verifier.verify(bearerTokenOf(request.headers));
    requireRole(claims, 'broker');
    const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',');
    if (!offered.some((protocol) => protocol.trim() === PEER_LINK_SUBPROTOCOL)) {
      throw new MqfedError('PROTOCOL_UNSUPPORTED', `peer links speak ${PEER_LINK_SUBPROTOCOL}`);
    }
    if (claims.sub === options.selfId) {
      throw new MqfedError('IDENTITY_MISMATCH', 'a broker does not link to itself');
    }
    if (!options.acceptsInbound(claims.sub)) {
      throw new MqfedError('LINK_EXISTS', `a link with ${claims.sub} is already being set up`);
    }
    return claims;
  };

  serveUpgrades(server, wss, {
    isClosing: () => closing,
    check: checkUpgrade,
    // Checked again: another dial from this peer may have been taken while we verified.
    recheck(claims) {
      if (!options.acceptsInbound(claims.sub)) throw new MqfedError('LINK_EXISTS');
    },
    accept(ws, claims, request) {
      batchWritesPerTurn(request.socket);
      options.onLink(ws, claims);
    },
    onRefused(failure, request) {
      options.metrics.upgradesRefused.inc({ code: failure.code });
      options.logger.warn(
        { code: failure.code, reason: failure.message, ip: request.socket.remoteAddress },
        'peer link upgrade refused',
      );
    },
  });

  return {
    async close() {
      closing = true;
      await Promise.all([...wss.clients].map((ws) => closeGracefully(ws)));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
