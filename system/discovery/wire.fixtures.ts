import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';

/** Wire-level helpers of the discovery tests: event queues, raw upgrades, raw watch sockets. */

/**
 * Collects events as they arrive and hands them out in order, waiting when none is there yet,
 * so tests await the event itself instead of sleeping. Each event is stamped on arrival.
 */
export interface EventQueue<T> {
  push(event: T): void;
  next(timeoutMs?: number): Promise<{ event: T; at: number }>;
  readonly pending: number;
}

export function eventQueue<T>(): EventQueue<T> {
  const buffered: { event: T; at: number }[] = [];
  const waiting: ((item: { event: T; at: number }) => void)[] = [];
  return {
    push(event) {
      const item = { event, at: performance.now() };
      const waiter = waiting.shift();
      if (waiter === undefined) buffered.push(item);
      else waiter(item);
    },
    next(timeoutMs = 5_000) {
      const item = buffered.shift();
      if (item !== undefined) return Promise.resolve(item);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(settle), 1);
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        const settle = (value: { event: T; at: number }) => {
          clearTimeout(timer);
          resolve(value);
        };
        waiting.push(settle);
      });
    },
    get pending() {
      return buffered.length;
    },
  };
}

/**
 * Asks for a WebSocket upgrade with plain node:http, so a test sees exactly what the server
 * answered: an HTTP status with a body, or a 101 and an upgraded socket (destroyed at once).
 */
export function rawUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; upgraded: boolean }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, body: {}, upgraded: true });
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({
          status: response.statusCode ?? 0,
          body: text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {},
          upgraded: false,
        });
      });
    });
    request.on('error', reject);
    request.end();
  });
}

export interface RawWatchSocket extends AsyncDisposable {
  readonly ws: WebSocket;
  readonly frames: EventQueue<Record<string, unknown>>;
  /** The close code and reason the server sent. */
  readonly closed: Promise<{ code: number; reason: string }>;
  sendJson(frame: unknown): void;
}

/** A watch socket with no client logic on top, to send anything at all to the server. */
export async function openRawWatch(
  watchUrl: string,
  token: string,
  options: { autoPong?: boolean } = {},
): Promise<RawWatchSocket> {
  const ws = new WebSocket(watchUrl, {
    headers: { authorization: `Bearer ${token}` },
    autoPong: options.autoPong ?? true,
  });
  const frames = eventQueue<Record<string, unknown>>();
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    closed,
    sendJson: (frame) => ws.send(JSON.stringify(frame)),
    async [Symbol.asyncDispose]() {
      ws.terminate();
    },
  };
}
