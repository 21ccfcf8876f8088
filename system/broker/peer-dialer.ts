import type { ClientRequest, IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { type TlsTrust, upgradeRefusal } from '../common/index.ts';
import {
  DEFAULT_MAX_CONTROL_BYTES,
  MqfedError,
  PEER_LINK_SUBPROTOCOL,
  peerMessageSizeLimit,
} from '../protocol/index.ts';
import { batchWritesPerTurn } from './write-batching.ts';

const HANDSHAKE_TIMEOUT_MS = 5_000;

export interface DialedPeer {
  ws: WebSocket;
  /** The token presented in the upgrade. */
  token: string;
  /**
   * Messages that arrived before anyone listened: ws may emit the peer's first frames in the same
   * tick as 'open', before the awaiting caller runs. Taking them stops the buffering. [design]
   */
  takeEarly(): [Buffer, boolean][];
}

/**
 * Opens a WebSocket to a peer's link server, presenting `token` in the upgrade. Resolves once it
 * is open; a refused upgrade rejects with the code the peer answered (TOKEN_INVALID,
 * LINK_EXISTS, ...), an unreachable peer, or one whose certificate `tls` does not trust, with
 * PEER_UNREACHABLE.
 */
export function dialPeer(
  url: string,
  token: string,
  maxPayloadBytes: number,
  tls?: TlsTrust,
): Promise<DialedPeer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, PEER_LINK_SUBPROTOCOL, {
      // wss:// verifies the peer's certificate against this CA (and its host name).
      ...(tls === undefined ? {} : { ca: tls.ca }),
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      maxPayload: peerMessageSizeLimit({
        maxPayloadBytes,
        maxControlBytes: DEFAULT_MAX_CONTROL_BYTES,
      }),
    });
    const refused = (request: ClientRequest, response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        reject(upgradeRefusal(response.statusCode ?? 0, Buffer.concat(chunks).toString()));
        request.destroy();
      });
    };
    ws.on('unexpected-response', refused);
    ws.once('error', (error) => {
      reject(new MqfedError('PEER_UNREACHABLE', `${url}: ${error.message}`, error));
    });
    const early: [Buffer, boolean][] = [];
    const keep = (data: Buffer, isBinary: boolean) => early.push([data, isBinary]);
    ws.binaryType = 'nodebuffer';
    ws.once('upgrade', (response) => batchWritesPerTurn(response.socket));
    ws.on('message', keep);
    ws.once('open', () => {
      if (ws.protocol !== PEER_LINK_SUBPROTOCOL) {
        ws.terminate();
        reject(
          new MqfedError(
            'PROTOCOL_UNSUPPORTED',
            `${url} did not agree to ${PEER_LINK_SUBPROTOCOL}`,
          ),
        );
        return;
      }
      ws.removeAllListeners('error');
      // [design] Nothing of the dial stays attached to an open socket: a listener left here
      // would hold this scope (the early frames, the token) for the life of the link.
      ws.off('unexpected-response', refused);
      resolve({
        ws,
        token,
        takeEarly() {
          ws.off('message', keep);
          return early.splice(0);
        },
      });
    });
  });
}
