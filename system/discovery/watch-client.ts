import { decodeJwt } from 'jose';
import WebSocket from 'ws';
import { type TlsTrust, upgradeRefusal } from '../common/index.ts';
import { isErrorCode, MqfedError } from '../protocol/index.ts';
import type { BrokerRecord } from './broker-directory.ts';
import type { WatchEvent, WatchServerFrame } from './watch-frames.ts';

export interface WatchClosed {
  code: number;
  reason: string;
}

/** An open watch. `await using` closes it. */
export interface Watch extends AsyncDisposable {
  /** The matching brokers when the watch started (also the first event given to `onEvent`). */
  readonly snapshot: BrokerRecord[];
  /** Settles when the socket closes, whoever closed it; the watch does not reconnect. */
  readonly closed: Promise<WatchClosed>;
  close(): Promise<void>;
}

export interface OpenWatchOptions {
  watchUrl: string;
  /** Gives a valid token; asked again before the current one expires. */
  token: () => Promise<string>;
  filters: readonly string[];
  /** Also watch brokers whose interest intersects these (sent only when given). */
  interestFilters?: readonly string[];
  onEvent: (event: WatchEvent) => void;
  /** Give up when no snapshot came within this many milliseconds. */
  timeoutMs?: number;
  /** The CA a wss:// watch server's certificate must be signed by. */
  tls?: TlsTrust | undefined;
}

const WATCH_ID = 'w';
// Never ask the token source more often than this while waiting for it to hand out a new token.
const MIN_REFRESH_CHECK_MS = 50;

/**
 * Opens a watch socket with one watch on it and resolves once the server sent the snapshot.
 * Failures are thrown as MqfedError with the server's code: from the HTTP refusal of the upgrade
 * (e.g. TOKEN_INVALID) or from the close reason (e.g. INVALID_REQUEST for a bad filter).
 *
 * Before the token expires it asks `token()` again, checking at half the remaining lifetime each
 * time, and sends any new token in an `auth` frame, so the server keeps the socket open.
 */
export async function openWatch(options: OpenWatchOptions): Promise<Watch> {
  let token = await options.token();
  const ws = new WebSocket(options.watchUrl, {
    headers: { authorization: `Bearer ${token}` },
    ...(options.tls === undefined ? {} : { ca: options.tls.ca }),
  });
  let refreshTimer: NodeJS.Timeout | undefined;
  const closed = new Promise<WatchClosed>((resolve) => {
    ws.on('close', (code, reason) => {
      clearTimeout(refreshTimer);
      resolve({ code, reason: reason.toString() });
    });
  });

  const scheduleRefresh = () => {
    clearTimeout(refreshTimer);
    const expiresAt = (decodeJwt(token).exp ?? 0) * 1000;
    const remaining = expiresAt - Date.now();
    if (remaining <= 0) return;
    const delay = Math.max(MIN_REFRESH_CHECK_MS, remaining / 2);
    refreshTimer = setTimeout(() => {
      options.token().then(
        (fresh) => {
          if (fresh !== token && ws.readyState === WebSocket.OPEN) {
            token = fresh;
            ws.send(JSON.stringify({ type: 'auth', token: fresh }));
          }
          scheduleRefresh();
        },
        () => scheduleRefresh(),
      );
    }, delay).unref();
  };

  const snapshot = new Promise<BrokerRecord[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new MqfedError('INTERNAL', `no watch snapshot within ${options.timeoutMs ?? 5_000} ms`),
      );
      ws.terminate();
    }, options.timeoutMs ?? 5_000);
    ws.on('unexpected-response', (request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        reject(upgradeRefusal(response.statusCode ?? 0, Buffer.concat(chunks).toString()));
        request.destroy();
      });
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(new MqfedError('INTERNAL', `watch socket failed: ${error.message}`, error));
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      const text = reason.toString();
      reject(
        new MqfedError(isErrorCode(text) ? text : 'INTERNAL', `watch closed (${code} ${text})`),
      );
    });
    ws.on('open', () => {
      const { filters, interestFilters } = options;
      const frame = { type: 'watch', id: WATCH_ID, filters };
      ws.send(
        JSON.stringify(interestFilters === undefined ? frame : { ...frame, interestFilters }),
      );
      scheduleRefresh();
    });
    ws.on('message', (data) => {
      let frame: WatchServerFrame;
      try {
        frame = JSON.parse(data.toString()) as WatchServerFrame;
      } catch {
        // Not our server, or a broken one: nothing more it sends can be trusted.
        ws.close(1007, 'FRAME_MALFORMED');
        return;
      }
      if (frame.type === 'authed' || frame.type === 'unwatched' || frame.id !== WATCH_ID) return;
      if (frame.type === 'snapshot') {
        clearTimeout(timer);
        resolve(frame.brokers);
      }
      options.onEvent(frame);
    });
  });

  const close = async () => {
    clearTimeout(refreshTimer);
    if (ws.readyState !== WebSocket.CLOSED) ws.close(1000);
    await closed;
  };
  const brokers = await snapshot.catch(async (error: unknown) => {
    ws.terminate();
    throw error;
  });
  return { snapshot: brokers, closed, close, [Symbol.asyncDispose]: close };
}
