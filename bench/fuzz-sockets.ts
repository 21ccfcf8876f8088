import { connect } from 'node:net';
import WebSocket from 'ws';
import type { Tally } from './fuzz-tally.ts';

/** WebSocket and raw TCP plumbing shared by the fuzzers of the peer link and the watch. */

export type Upgrade =
  | { ws: WebSocket; closed: Promise<{ code: number; reason: string }> }
  | { status: number; body: string };

/** Answers slower than this are anomalies, not waits. [design] Loaded two-core machine. */
export const ANSWER_TIMEOUT_MS = 15_000;

/**
 * Opens a WebSocket, resolving with the socket once open or with the HTTP status and body of a
 * refused upgrade (status 0: the connection failed without an answer).
 */
export function upgrade(
  url: string,
  protocols: string[],
  headers: Record<string, string>,
): Promise<Upgrade> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, protocols, {
      headers,
      perMessageDeflate: false,
      handshakeTimeout: ANSWER_TIMEOUT_MS,
    });
    const closed = new Promise<{ code: number; reason: string }>((settle) => {
      ws.on('close', (code, reason) => settle({ code, reason: reason.toString() }));
    });
    ws.on('error', () => resolve({ status: 0, body: 'connection failed' }));
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('close', () => resolve({ status: response.statusCode ?? 0, body }));
    });
  });
}

/** Sends, settling once the message is written out (or the socket failed): backpressure. */
export function sendAndDrain(ws: WebSocket, data: Uint8Array | string, binary: boolean) {
  return new Promise<void>((resolve) => {
    if (ws.readyState !== WebSocket.OPEN) {
      resolve();
      return;
    }
    ws.send(data, { binary }, () => resolve());
  });
}

/** The close code and reason, or undefined when the socket did not close in time. */
export async function closedWithin(
  closed: Promise<{ code: number; reason: string }>,
  timeoutMs = ANSWER_TIMEOUT_MS,
): Promise<{ code: number; reason: string } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for the service to close `ws` and counts its close code, or counts an anomaly (`what`)
 * and cuts the socket when it did not close in time.
 */
export async function tallyClose(
  ws: WebSocket,
  closed: Promise<{ code: number; reason: string }>,
  anomaly: { what: string; input: string },
  tally: Tally,
): Promise<void> {
  const result = await closedWithin(closed);
  if (result === undefined) {
    tally.anomaly({ ...anomaly, answer: 'nothing in time' });
    ws.terminate();
    await closed;
    return;
  }
  tally.closed(result.code, result.reason);
}

/**
 * Writes raw bytes to the HTTP port and reads the status of the first answer line: 0 when the
 * server closed without answering (what Node does with some garbage), -1 when it did neither
 * in time.
 */
export function rawRequest(url: string, bytes: Uint8Array): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let answer = '';
    const done = (status: number) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => done(-1), ANSWER_TIMEOUT_MS);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
      if (match !== null) done(Number(match[1]));
      else if (answer.length > 64) done(0);
    });
    socket.on('error', () => done(0));
    socket.on('close', () => done(0));
  });
}
