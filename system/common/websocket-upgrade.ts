import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { type WebSocketServer } from 'ws';
import { isErrorCode, MqfedError, toMqfedError } from '../protocol/index.ts';

/**
 * WebSocket pieces shared by every service endpoint that upgrades HTTP (discovery watch, peer
 * links): refusing an upgrade with the JSON error contract, closing gracefully, and naming the
 * catalogue code of the closes ws makes by itself.
 */

/** Close reasons for the closes ws makes by itself, so every close names its catalogue code. */
const reasonsOfWsCloses: Record<number, string> = {
  1007: 'FRAME_MALFORMED',
  1009: 'BODY_TOO_LARGE',
};

/**
 * ws closes a socket on its own for an oversized message (1009) or text that is not UTF-8 (1007),
 * with no reason. Its documented `WebSocket` class seam lets us add the code as the reason, as
 * for every other close. Pass it as the `WebSocket` option of a WebSocketServer. [design]
 */
export class CatalogueWebSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    super.close(code, data ?? (code === undefined ? undefined : reasonsOfWsCloses[code]));
  }
}

const CLOSE_GRACE_MS = 1_000;

/** Closes with 1001 (going away); a peer that does not answer is cut off after a grace period. */
export function closeGracefully(ws: WebSocket, code = 1001, reason = 'going away'): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const cutOff = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    ws.once('close', () => {
      clearTimeout(cutOff);
      resolve();
    });
    ws.close(code, reason);
  });
}

/**
 * Answers a socket that asked to upgrade with an HTTP error and the JSON error body, then drops
 * it: no WebSocket ever exists for a refused caller. [design]
 */
export function refuseUpgrade(socket: Duplex, failure: MqfedError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(failure.toBody());
  const status = failure.httpStatus;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The error a refused upgrade answered with, read back from its JSON body on the client side;
 * INTERNAL when the body is not ours.
 */
export function upgradeRefusal(status: number, body: string): MqfedError {
  try {
    const { code, message } = JSON.parse(body) as { code?: unknown; message?: unknown };
    if (isErrorCode(code)) {
      return new MqfedError(code, typeof message === 'string' ? message : code);
    }
  } catch {
    // Not our JSON error body; fall through.
  }
  return new MqfedError('INTERNAL', `upgrade refused with HTTP ${status}`);
}

export interface UpgradeHandler<T> {
  /** Decides on an upgrade: throws an MqfedError to refuse it, or returns what `accept` needs. */
  check(request: IncomingMessage): Promise<T>;
  /** Re-checked after `check` resolved, for state that may have changed meanwhile. */
  recheck?(checked: T): void;
  accept(ws: WebSocket, checked: T, request: IncomingMessage): void;
  onRefused(failure: MqfedError, request: IncomingMessage): void;
  isClosing(): boolean;
}

/**
 * Serves WebSocket upgrades on an HTTP server through `wss` (a `noServer` WebSocketServer):
 * every upgrade is checked first, and a refused one gets its HTTP error answer. A connection
 * reset during the check must not take the service down, so socket errors are ignored until the
 * socket is handed to ws. [design]
 */
export function serveUpgrades<T>(
  server: Server,
  wss: WebSocketServer,
  handler: UpgradeHandler<T>,
): void {
  const upgrade = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const ignore = () => {};
    socket.on('error', ignore);
    if (handler.isClosing()) {
      socket.destroy();
      return;
    }
    try {
      const checked = await handler.check(request);
      if (socket.destroyed) return;
      handler.recheck?.(checked);
      socket.off('error', ignore);
      wss.handleUpgrade(request, socket, head, (ws) => handler.accept(ws, checked, request));
    } catch (error) {
      const failure = toMqfedError(error);
      handler.onRefused(failure, request);
      refuseUpgrade(socket, failure);
    }
  };
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    void upgrade(request, socket, head);
  });
}

/**
 * Finds dead sockets (a peer that vanished without a FIN) by ping/pong: each interval every
 * socket is pinged, and one that did not answer the previous ping is terminated (`onDead` first).
 * Returns the function that stops it.
 */
export function startPongHeartbeat(
  wss: WebSocketServer,
  intervalMs: number,
  onDead: (ws: WebSocket) => void = () => {},
): () => void {
  const awaitingPong = new WeakSet<WebSocket>();
  const followed = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (!followed.has(ws)) {
        followed.add(ws);
        ws.on('pong', () => awaitingPong.delete(ws));
      }
      if (awaitingPong.has(ws)) {
        onDead(ws);
        ws.terminate();
        continue;
      }
      awaitingPong.add(ws);
      ws.ping();
    }
  }, intervalMs).unref();
  return () => clearInterval(timer);
}
