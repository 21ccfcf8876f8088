import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../common/index.ts';
import type { PeerRecord } from './peer-directory.ts';
import { createRetainedFetcher } from './retained-fetch.ts';
import { createRetainedMetrics } from './retained-metrics.ts';
import type { FetchedRetained } from './retained-wire.ts';

/**
 * The retained fetch against peers that misbehave, on real sockets: each fake peer is an HTTP
 * server whose answer the test writes. Whatever a peer answers, the caller stores nothing it did
 * not ask for, reads no more than its bound, and waits no longer than its deadline.
 */

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function fakePeer(handler: Handler): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      requests.push(body);
      handler(request, body, response);
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}/peer`, requests };
}

const answer = (messages: unknown[], truncated = false): Handler => {
  return (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ messages, truncated }));
  };
};

const message = (topic: string, payload: string, time = 5): FetchedRetained => ({
  topic,
  payload: Buffer.from(payload).toString('base64'),
  qos: 1,
  time,
  origin: 'b9',
});

function fetcherFor(peers: Record<string, string>, options: { deadlineMs?: number } = {}) {
  const registry = new Registry();
  const metrics = createRetainedMetrics(registry, () => 0);
  const stored: FetchedRetained[] = [];
  const records: PeerRecord[] = Object.entries(peers).map(([id, linkUrl]) => ({
    id,
    linkUrl,
    topics: new Set(['#']),
    interest: new Set(),
  }));
  const fetch = createRetainedFetcher({
    caller: {
      linkUrlOf: async (id) => peers[id],
      tokenFor: async () => 'a-token',
    },
    peers: () => records,
    scope: ['plant/#', 'site/#'],
    deadlineMs: options.deadlineMs ?? 2_000,
    maxResponseBytes: 64 * 1024,
    metrics,
    logger: createLogger('test', 'silent'),
    store: async (entry) => {
      stored.push(entry);
    },
  });
  const results = async () =>
    Object.fromEntries(
      (await metrics.fetches.get()).values.map((value) => [value.labels.result, value.value]),
    );
  return { fetch, stored, results };
}

describe('a retained fetch refuses a hostile peer’s answer without harm', () => {
  it('stores a good peer’s part and nothing of an answer too large, malformed or out of scope', async () => {
    const good = await fakePeer(answer([message('plant/a', 'ok')]));
    const huge = await fakePeer(answer([message('plant/b', 'x'.repeat(200 * 1024))]));
    const notJson = await fakePeer((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"messages": [');
    });
    const badField = await fakePeer(answer([{ ...message('plant/c', 'x'), qos: 7 }]));
    const wildcard = await fakePeer(answer([message('plant/+', 'x')]));
    const outside = await fakePeer(answer([message('plant/d', 'x'), message('secret/key', 'x')]));
    const { fetch, stored, results } = fetcherFor({
      good: good.url,
      huge: huge.url,
      notJson: notJson.url,
      badField: badField.url,
      wildcard: wildcard.url,
      outside: outside.url,
    });

    // A filter wider than the scope is narrowed by the answer check: secret/key was not asked.
    await fetch(['plant/#']);
    expect(stored.map((entry) => entry.topic)).toEqual(['plant/a']);
    expect(await results()).toEqual({ ok: 1, invalid_answer: 5 });
    expect(JSON.parse(good.requests[0]!)).toEqual({ filters: ['plant/#'] });
  });

  it('asks only for filters this broker may consume, and asks nobody when none is left', async () => {
    const peer = await fakePeer(answer([]));
    const { fetch, results } = fetcherFor({ peer: peer.url });
    await fetch(['secret/#', 'site/+', 'site/+']);
    expect(peer.requests.map((body) => JSON.parse(body))).toEqual([{ filters: ['site/+'] }]);
    await fetch(['secret/#']);
    expect(peer.requests).toHaveLength(1);
    expect(await results()).toEqual({ ok: 1 });
  });

  it('waits for a slow peer no longer than the deadline, and counts a dead one unreachable', async () => {
    const fast = await fakePeer(answer([message('site/door', 'open')]));
    const slow = await fakePeer(() => {
      // Never answers.
    });
    const gone = await fakePeer(answer([]));
    servers.at(-1)!.close();
    await once(servers.at(-1)!, 'close');
    const { fetch, stored, results } = fetcherFor(
      { fast: fast.url, slow: slow.url, gone: gone.url },
      { deadlineMs: 300 },
    );
    const started = Date.now();
    await fetch(['site/#']);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(stored.map((entry) => entry.topic)).toEqual(['site/door']);
    expect(await results()).toEqual({ ok: 1, timeout: 1, unreachable: 1 });
  });

  it('counts an error answer as refused by the peer', async () => {
    const denying = await fakePeer((_request, _body, response) => {
      response.writeHead(403, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ code: 'SCOPE_DENIED', message: 'no' }));
    });
    const { fetch, stored, results } = fetcherFor({ denying: denying.url });
    await fetch(['site/#']);
    expect(stored).toEqual([]);
    expect(await results()).toEqual({ refused: 1 });
  });
});

describe('concurrent fetches of the same filters share one round of calls', () => {
  it('asks each peer once for a crowd subscribing the same filters at once', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let requested: () => void = () => {};
    const firstRequest = new Promise<void>((resolve) => {
      requested = resolve;
    });
    const peer = await fakePeer((request, body, response) => {
      requested();
      void held.then(() => answer([message('site/x', 'y')])(request, body, response));
    });
    const { fetch, stored } = fetcherFor({ peer: peer.url });
    const crowd = Array.from({ length: 50 }, () => fetch(['site/#']));
    // The peer holds its answer until every subscriber of the crowd has asked.
    await firstRequest;
    release();
    await Promise.all(crowd);
    expect(peer.requests).toHaveLength(1);
    expect(stored).toHaveLength(1);
    // Once done, the next subscription fetches afresh.
    await fetch(['site/#']);
    expect(peer.requests).toHaveLength(2);
  });
});
