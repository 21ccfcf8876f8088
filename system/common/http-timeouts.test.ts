import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createHttpApp, type HttpTimeouts, listenOn } from './http-app.ts';
import { requestJson } from './json-client.ts';
import { createLogger } from './logger.ts';
import { createMetricsRegistry } from './metrics.ts';

async function startApp(timeouts: Partial<HttpTimeouts>) {
  const metrics = createMetricsRegistry('test');
  const app = createHttpApp({
    logger: createLogger('test', 'silent'),
    metrics,
    bodyLimit: 1024 * 1024,
    timeouts,
  });
  app.post('/echo', async (request) => request.body);
  // WebSocket upgrades ride on the same server, as the watch and peer-link servers do.
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data)));
  app.server.on('upgrade', (request, socket, head) => {
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });
  let connections = 0;
  app.server.on('connection', () => connections++);
  const url = new URL(await listenOn(app, '127.0.0.1', 0));
  return {
    port: Number(url.port),
    metrics,
    get connections() {
      return connections;
    },
    async [Symbol.asyncDispose]() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await app.close();
    },
  };
}

/**
 * A slow-loris client: writes `head` then one byte of `trickle` every `everyMs` until the server
 * closes the connection. Answers what the server sent and when it closed, from the first write.
 */
function trickle(port: number, head: string, tail: string, everyMs: number) {
  return new Promise<{ answer: string; closedAfterMs: number; bytesSent: number }>(
    (resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const started = performance.now();
      let answer = '';
      let sent = 0;
      let timer: NodeJS.Timeout | undefined;
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        answer += chunk;
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ answer, closedAfterMs: performance.now() - started, bytesSent: sent });
      });
      socket.on('connect', () => {
        socket.write(head);
        timer = setInterval(() => {
          if (sent >= tail.length) {
            clearInterval(timer);
            reject(new Error('the whole request went through without a timeout'));
            socket.destroy();
            return;
          }
          if (!socket.destroyed) socket.write(tail[sent++] ?? '');
        }, everyMs);
      });
    },
  );
}

describe('every HTTP server cuts off clients that send too slowly', () => {
  it('a body sent a byte at a time is cut off at the request timeout', async () => {
    await using app = await startApp({ headersMs: 500, requestMs: 1_000 });
    const body = JSON.stringify({ pad: 'x'.repeat(200) });
    const head =
      'POST /echo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n' +
      `content-length: ${body.length}\r\n\r\n`;
    const { answer, closedAfterMs, bytesSent } = await trickle(app.port, head, body, 100);
    // The deadline is checked every quarter of the shortest timeout (125 ms here).
    expect(closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(closedAfterMs).toBeLessThan(8_000);
    expect(bytesSent).toBeLessThan(body.length);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
    expect(await app.metrics.metrics()).toContain(
      'mqfed_http_errors_total{code="REQUEST_TIMEOUT",route="unknown",service="test"} 1',
    );
  });

  it('headers sent a byte at a time are cut off at the headers timeout', async () => {
    await using app = await startApp({ headersMs: 500, requestMs: 5_000 });
    const head = 'GET /healthz HTTP/1.1\r\n';
    const headers = `host: x\r\nx-pad: ${'y'.repeat(200)}\r\n\r\n`;
    const { answer, closedAfterMs, bytesSent } = await trickle(app.port, head, headers, 100);
    expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
    expect(closedAfterMs).toBeGreaterThanOrEqual(400);
    expect(closedAfterMs).toBeLessThan(6_000);
    expect(bytesSent).toBeLessThan(headers.length);
  });

  it('a prompt request is answered as before', async () => {
    await using app = await startApp({ headersMs: 500, requestMs: 1_000 });
    const response = await fetch(`http://127.0.0.1:${app.port}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await response.json()).toEqual({ a: 1 });
  });

  it('keeps an idle connection long enough for a lease renewal to reuse it', async () => {
    // A broker renews its lease every 5 s with its default 15 s lease: with the default
    // keep-alive, the next renewal finds the connection of the last one still open.
    const RENEWAL_MS = 5_000;
    await using app = await startApp({});
    const url = `http://127.0.0.1:${app.port}/echo`;
    expect(await requestJson(url, { body: { n: 1 } })).toEqual({ n: 1 });
    await new Promise((resolve) => setTimeout(resolve, RENEWAL_MS));
    expect(await requestJson(url, { body: { n: 2 } })).toEqual({ n: 2 });
    expect(app.connections).toBe(1);
  }, 15_000);

  it('an upgraded WebSocket outlives the request timeout: it is no request any more', async () => {
    await using app = await startApp({ headersMs: 200, requestMs: 300 });
    const ws = new WebSocket(`ws://127.0.0.1:${app.port}/ws`);
    await once(ws, 'open');
    // Ten checking intervals past the request deadline, the socket still answers.
    const until = Date.now() + 1_200;
    let echoes = 0;
    while (Date.now() < until) {
      ws.send('ping');
      await once(ws, 'message');
      echoes++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(echoes).toBeGreaterThan(5);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.terminate();
  });
});
