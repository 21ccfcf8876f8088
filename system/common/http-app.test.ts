import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bearerTokenOf, bodyOf, createHttpApp, listenOn } from './http-app.ts';
import { createLogger } from './logger.ts';
import { createMetricsRegistry } from './metrics.ts';

async function startEchoApp() {
  const metrics = createMetricsRegistry('test');
  const app = createHttpApp({ logger: createLogger('test', 'silent'), metrics, bodyLimit: 1024 });
  const schema = z.object({ name: z.string().min(1), count: z.number().int() });
  app.post('/echo', async (request) => bodyOf(request, schema));
  app.get('/private', async (request) => ({ token: bearerTokenOf(request.headers) }));
  app.get('/items/:id', async (request) => request.params);
  const url = await listenOn(app, '127.0.0.1', 0);
  return { url, metrics, [Symbol.asyncDispose]: () => app.close() };
}

async function send(url: string, init: RequestInit) {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const json = { 'content-type': 'application/json' };

describe('the shared HTTP app answers bad input with a stable error code, never a 500', () => {
  it.each([
    ['malformed JSON', { method: 'POST', headers: json, body: '{"name":' }, 400, 'MALFORMED_JSON'],
    ['an empty JSON body', { method: 'POST', headers: json, body: '' }, 400, 'BODY_MISSING'],
    ['no body at all', { method: 'POST' }, 400, 'BODY_MISSING'],
    [
      'an oversized body',
      { method: 'POST', headers: json, body: JSON.stringify({ name: 'x'.repeat(2000), count: 1 }) },
      413,
      'BODY_TOO_LARGE',
    ],
    [
      'a body that is not JSON',
      { method: 'POST', headers: { 'content-type': 'text/xml' }, body: '<a/>' },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a text/plain body',
      { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a field of the wrong type',
      { method: 'POST', headers: json, body: '{"name":"a","count":"two"}' },
      400,
      'INVALID_REQUEST',
    ],
  ])('%s', async (_case, init, status, code) => {
    await using app = await startEchoApp();
    const answer = await send(`${app.url}/echo`, init as RequestInit);
    expect(answer.status).toBe(status);
    expect(answer.body.code).toBe(code);
    expect(typeof answer.body.message).toBe('string');
  });

  it('names the offending field of a schema mismatch', async () => {
    await using app = await startEchoApp();
    const answer = await send(`${app.url}/echo`, {
      method: 'POST',
      headers: json,
      body: '{"name":"a","count":"two"}',
    });
    expect(answer.body.message).toMatch(/^count: /);
  });

  it.each([
    ['a malformed percent-escape', '/items/%E0%A4%A'],
    ['a path parameter longer than 256 characters', `/items/${'x'.repeat(257)}`],
  ])('answers %s with INVALID_REQUEST', async (_case, path) => {
    await using app = await startEchoApp();
    const answer = await send(`${app.url}${path}`, {});
    expect(answer.status).toBe(400);
    expect(answer.body.code).toBe('INVALID_REQUEST');
  });

  it('routes a path parameter of 128 characters', async () => {
    await using app = await startEchoApp();
    const id = 'x'.repeat(128);
    expect(await send(`${app.url}/items/${id}`, {})).toEqual({ status: 200, body: { id } });
  });

  it('answers an unknown route with ROUTE_NOT_FOUND and counts it', async () => {
    await using app = await startEchoApp();
    const answer = await send(`${app.url}/nope`, {});
    expect(answer).toEqual({
      status: 404,
      body: { code: 'ROUTE_NOT_FOUND', message: 'no route GET /nope' },
    });
    expect(await app.metrics.metrics()).toMatch(
      /mqfed_http_errors_total\{code="ROUTE_NOT_FOUND",route="unknown",service="test"\} 1/,
    );
  });

  it('refuses a request without a bearer token with TOKEN_MISSING', async () => {
    await using app = await startEchoApp();
    const missing = await send(`${app.url}/private`, {});
    expect([missing.status, missing.body.code]).toEqual([401, 'TOKEN_MISSING']);
    const present = await send(`${app.url}/private`, { headers: { authorization: 'Bearer abc' } });
    expect(present).toEqual({ status: 200, body: { token: 'abc' } });
  });

  it('keeps serving after bad input and reports health and metrics', async () => {
    await using app = await startEchoApp();
    await send(`${app.url}/echo`, { method: 'POST', headers: json, body: '{' });
    const ok = await send(`${app.url}/echo`, {
      method: 'POST',
      headers: json,
      body: '{"name":"a","count":2}',
    });
    expect(ok).toEqual({ status: 200, body: { name: 'a', count: 2 } });
    expect((await send(`${app.url}/healthz`, {})).body).toEqual({ status: 'ok' });
    const metrics = await fetch(`${app.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await metrics.text()).toMatch(/mqfed_process_cpu_seconds_total/);
  });
});
