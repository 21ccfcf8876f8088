import WebSocket from 'ws';
import {
  decodeFrame,
  type ErrorCode,
  encodeFrame,
  errorCatalogue,
  isErrorCode,
  type PeerFrame,
  type PeerFrameLimits,
  toMqfedError,
} from '../protocol/index.ts';
import type { LinkTraffic } from './broker-metrics.ts';
import type { LinkHeartbeat } from './link-heartbeat.ts';

export type LinkDirection = 'inbound' | 'outbound';

/**
 * Deliveries from a peer may be in flight in the local broker at once; above this the link stops
 * reading until half of them are done. [design] aedes queues publishes it cannot process at once
 * in an array it shifts from, so an unbounded backlog costs time quadratic in its length: reading
 * on only as fast as aedes delivers keeps it short and pushes back on the sender through TCP.
 */
const MAX_DELIVERIES_IN_FLIGHT = 512;

export interface PeerConnectionOptions {
  /** Who dialed: `outbound` when this broker did. */
  direction: LinkDirection;
  limits: PeerFrameLimits;
  traffic: LinkTraffic;
  /** Pings this connection with every other of the broker's, on one timer. */
  heartbeat: LinkHeartbeat;
  onFrame(frame: PeerFrame): void;
  /** Called once, however the socket ended; `code` names a catalogue code when there is one. */
  onClose(code: string, wsCode: number): void;
}

/**
 * One open WebSocket of a peer link, either direction: frames in and out through the one codec,
 * dead-peer detection by ping/pong, and every close named by a catalogue code. It knows nothing
 * of subscriptions or tokens; peer-link.ts gives the frames their meaning.
 */
export class PeerConnection {
  readonly direction: LinkDirection;
  readonly #ws: WebSocket;
  readonly #options: PeerConnectionOptions;
  #awaitingPong = false;
  #inFlight = 0;
  #paused = false;
  /** Reading held by the link (a token being verified), apart from delivery back-pressure. */
  #held = false;
  #closed = false;
  #closeCode: string | undefined;
  #resolveClosed: () => void = () => {};
  /** Settles once the socket is gone. */
  readonly closed = new Promise<void>((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(ws: WebSocket, options: PeerConnectionOptions) {
    this.#ws = ws;
    this.#options = options;
    this.direction = options.direction;
    ws.binaryType = 'nodebuffer';
    ws.on('pong', () => {
      this.#awaitingPong = false;
    });
    // Errors are followed by 'close'; without a listener ws would throw them. After a receiver
    // error (an oversized message, text that is not UTF-8) ws sends the close frame itself and
    // stops reading, so its 'close' event says 1006: the cause is only known here.
    ws.on('error', (error: Error & { code?: string }) => {
      this.#closeCode ??= receiverErrorCode(error.code);
    });
    ws.on('close', (wsCode, reason) => this.#ended(wsCode, reason.toString()));
    // [design] Both ends ping: a half-open TCP connection is found from either side.
    options.heartbeat.add(this);
  }

  /** Starts reading: first the messages that arrived before, then the live ones. */
  start(early: readonly [Buffer, boolean][] = []): void {
    for (const [data, isBinary] of early) this.#receive(data, isBinary);
    this.#ws.on('message', (data, isBinary) => this.#receive(data as Buffer, isBinary));
  }

  /** A publish from the peer went to the local broker; call `deliveryDone` when it is through. */
  deliveryStarted(): void {
    this.#inFlight += 1;
    if (this.#inFlight >= MAX_DELIVERIES_IN_FLIGHT && !this.#paused) {
      this.#paused = true;
      this.#applyPause();
    }
  }

  deliveryDone(): void {
    this.#inFlight -= 1;
    if (this.#paused && this.#inFlight <= MAX_DELIVERIES_IN_FLIGHT / 2) {
      this.#paused = false;
      this.#applyPause();
    }
  }

  /**
   * Stops reading from the peer (`true`) or goes on (`false`), whatever deliveries do. [design]
   * While a peer's token is verified (which may wait on a slow auth service) its frames must not
   * pile up here: TCP pushes back on the peer instead.
   */
  holdReading(hold: boolean): void {
    this.#held = hold;
    this.#applyPause();
  }

  #applyPause(): void {
    if (this.#closed) return;
    if (this.#paused || this.#held) this.#ws.pause();
    else this.#ws.resume();
  }

  get isOpen(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Bytes queued in the socket and not yet sent: the outbox's back-pressure signal. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Encodes and sends one frame; false when the link is no longer open. */
  send(frame: PeerFrame): boolean {
    return this.sendEncoded(encodeFrame(frame));
  }

  sendEncoded(bytes: Buffer): boolean {
    if (!this.isOpen) return false;
    this.#ws.send(bytes, { binary: true });
    this.#options.traffic.framesOut += 1;
    this.#options.traffic.bytesOut += bytes.length;
    return true;
  }

  /**
   * Closes with the catalogue's close code for `code` and the code itself as the reason. The
   * non-errors close with 1000 (`LINK_IDLE`: unused past the grace period) or 1001 (`GOING_AWAY`).
   */
  close(code: ErrorCode | 'LINK_IDLE' | 'GOING_AWAY'): void {
    if (this.#closed || this.#closeCode !== undefined) return;
    const wsCode =
      code === 'LINK_IDLE' ? 1000 : code === 'GOING_AWAY' ? 1001 : errorCatalogue[code].ws;
    this.#closeCode = code;
    if (this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.terminate();
      return;
    }
    this.#ws.close(wsCode, code);
    // A peer that does not answer the close handshake is cut off.
    setTimeout(() => this.#ws.terminate(), 1_000).unref();
  }

  #receive(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    const traffic = this.#options.traffic;
    traffic.framesIn += 1;
    traffic.bytesIn += data.length;
    if (!isBinary) {
      this.close('FRAME_MALFORMED');
      return;
    }
    let frame: PeerFrame;
    try {
      frame = decodeFrame(data, this.#options.limits);
    } catch (error) {
      this.close(toMqfedError(error).code);
      return;
    }
    try {
      this.#options.onFrame(frame);
    } catch (error) {
      // A handler that throws (a store that failed, say) ends this link, not the process, and
      // not silently: the peer reconnects and resends what was not acknowledged.
      this.close(toMqfedError(error).code);
    }
  }

  /** The heartbeat's tick: a ping, or the end of a peer that did not answer the last one. */
  beat(): void {
    if (this.#awaitingPong) {
      this.#closeCode = 'PEER_UNREACHABLE';
      this.#ws.terminate();
      return;
    }
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#awaitingPong = true;
    this.#ws.ping();
  }

  #ended(wsCode: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.heartbeat.delete(this);
    const code = this.#closeCode ?? (reason.length > 0 ? knownReason(reason) : wsCodeName(wsCode));
    this.#options.onClose(code, wsCode);
    this.#resolveClosed();
  }
}

/** Close reasons a peer may give that are not catalogue codes. */
const PLAIN_REASONS = new Set(['LINK_IDLE', 'GOING_AWAY', 'NORMAL']);

/**
 * The close reason a peer sent, if it is one this protocol defines; anything else is `OTHER`.
 * [design] The reason becomes a metric label and an event field: a peer must not be able to
 * mint new label values (each one is a new series kept for the life of the process).
 */
function knownReason(reason: string): string {
  return isErrorCode(reason) || PLAIN_REASONS.has(reason) ? reason : 'OTHER';
}

/** The catalogue code of a ws receiver error that made ws close the socket by itself. */
function receiverErrorCode(code: string | undefined): string | undefined {
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 'BODY_TOO_LARGE';
  if (code === 'WS_ERR_INVALID_UTF8') return 'FRAME_MALFORMED';
  return undefined;
}

/** A close without a reason, named: ws's own closes (1007, 1009) and abrupt ends (1006). */
function wsCodeName(wsCode: number): string {
  if (wsCode === 1007) return 'FRAME_MALFORMED';
  if (wsCode === 1009) return 'BODY_TOO_LARGE';
  if (wsCode === 1006) return 'PEER_UNREACHABLE';
  if (wsCode === 1001) return 'GOING_AWAY';
  return 'NORMAL';
}
