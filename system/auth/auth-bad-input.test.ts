import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestAuth, tempDir, testAdminCredential } from './auth.fixtures.ts';
import { createAuthClient } from './auth-client.ts';
import type { AuthService } from './auth-service.ts';

type Request = Parameters<typeof call>[1];

describe('the authentication service answers bad input with a 4xx and a stable code, never a 500', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let auth: AuthService;
  let broker: { id: string; secret: string };

  beforeAll(async () => {
    dir = await tempDir();
    auth = await startTestAuth(dir.path);
    broker = await createAuthClient({ url: auth.url }).registerService(testAdminCredential, {
      id: 'b1',
      role: 'broker',
      topics: { pub: [], sub: [] },
    });
  });
  afterAll(async () => {
    await auth?.close();
    await dir?.[Symbol.asyncDispose]();
  });

  const admin = (init: Request = {}): Request => ({ bearer: testAdminCredential, ...init });
  const cases: [string, string, Request, number, string][] = [
    ['malformed JSON', '/token', { body: '{"id":' }, 400, 'MALFORMED_JSON'],
    ['no body', '/token', { method: 'POST' }, 400, 'BODY_MISSING'],
    ['an empty JSON body', '/token', { body: '' }, 400, 'BODY_MISSING'],
    ['a JSON null body', '/token', { body: 'null' }, 400, 'BODY_MISSING'],
    [
      'an oversized body',
      '/token',
      { body: { id: 'b1', secret: 'x'.repeat(20_000) } },
      413,
      'BODY_TOO_LARGE',
    ],
    [
      'a body that is not JSON',
      '/token',
      { body: 'id=b1', headers: { 'content-type': 'text/plain' } },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['a body without a secret', '/token', { body: { id: 'b1' } }, 400, 'INVALID_REQUEST'],
    ['a body of the wrong shape', '/token', { body: [1, 2] }, 400, 'INVALID_REQUEST'],
    [
      'an unknown service id',
      '/token',
      { body: { id: 'nobody', secret: 'x' } },
      401,
      'CLIENT_CREDENTIALS_INVALID',
    ],
    ['an unknown route', '/nope', {}, 404, 'ROUTE_NOT_FOUND'],
    ['the wrong method', '/token', { method: 'GET' }, 404, 'ROUTE_NOT_FOUND'],
    ['admin without a credential', '/admin/services', {}, 401, 'ADMIN_CREDENTIAL_INVALID'],
    [
      'admin with a wrong credential',
      '/admin/services',
      { bearer: 'guess' },
      401,
      'ADMIN_CREDENTIAL_INVALID',
    ],
    [
      'admin with another auth scheme',
      '/admin/services',
      { headers: { authorization: `Basic ${testAdminCredential}` } },
      401,
      'ADMIN_CREDENTIAL_INVALID',
    ],
    [
      'admin with a wrong credential and a malformed body',
      '/admin/services',
      { bearer: 'guess', body: '{' },
      401,
      'ADMIN_CREDENTIAL_INVALID',
    ],
    [
      'admin rotating a key with a wrong credential',
      '/admin/keys/rotate',
      { method: 'POST', bearer: 'guess' },
      401,
      'ADMIN_CREDENTIAL_INVALID',
    ],
    [
      'a registration with malformed JSON',
      '/admin/services',
      admin({ body: '{"role":' }),
      400,
      'MALFORMED_JSON',
    ],
    [
      'a registration with no body',
      '/admin/services',
      admin({ method: 'POST' }),
      400,
      'BODY_MISSING',
    ],
    [
      'a registration with an unknown role',
      '/admin/services',
      admin({ body: { role: 'admin' } }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'a registration with an invalid topic filter',
      '/admin/services',
      admin({ body: { role: 'broker', topics: { pub: ['a/#/b'] } } }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'a registration with a misspelt field',
      '/admin/services',
      admin({ body: { role: 'broker', topic: { pub: ['a'] } } }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'a registration with an id outside the alphabet',
      '/admin/services',
      admin({ body: { role: 'broker', id: 'a b' } }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'a registration with an id longer than 128 characters',
      '/admin/services',
      admin({ body: { role: 'broker', id: 'a'.repeat(129) } }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'a registration of a taken id',
      '/admin/services',
      admin({ body: { role: 'broker', id: 'b1' } }),
      409,
      'SERVICE_EXISTS',
    ],
    [
      'a secret rotation for an unknown id',
      '/admin/services/nobody/secret',
      admin({ method: 'POST' }),
      404,
      'SERVICE_NOT_FOUND',
    ],
    [
      'a revocation of an unknown id',
      '/admin/services/nobody',
      admin({ method: 'DELETE' }),
      404,
      'SERVICE_NOT_FOUND',
    ],
    [
      'a revocation of an id outside the alphabet',
      '/admin/services/%20x',
      admin({ method: 'DELETE' }),
      400,
      'INVALID_REQUEST',
    ],
  ];

  it.each(cases.map(([name, path, init, status, code]) => ({ name, path, init, status, code })))(
    '$name → $status $code',
    async ({ path, init, status, code }) => {
      const answer = await call(`${auth.url}${path}`, init);
      expect(answer.status).toBe(status);
      expect(answer.body).toEqual({ code, message: expect.any(String) });
    },
  );

  it('gives the same answer for a wrong secret as for an unknown id', async () => {
    const unknown = await call(`${auth.url}/token`, {
      body: { id: 'nobody', secret: broker.secret },
    });
    const wrong = await call(`${auth.url}/token`, { body: { id: broker.id, secret: 'wrong' } });
    expect(wrong).toEqual({ ...unknown, headers: expect.anything() });
    expect(wrong.status).toBe(401);
  });

  it('still issues tokens afterwards and reports the refusals in /metrics', async () => {
    for (const [, path, init] of cases) await call(`${auth.url}${path}`, init);
    const { token } = await createAuthClient({ url: auth.url }).issueToken(broker);
    expect(token.split('.')).toHaveLength(3);
    expect((await call(`${auth.url}/healthz`)).body).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${auth.url}/metrics`)).text();
    expect(metrics).toMatch(
      /mqfed_auth_admin_requests_total\{action="GET \/admin\/services",outcome="refused",service="auth"\} [1-9]/,
    );
    expect(metrics).toMatch(/mqfed_http_errors_total\{code="ADMIN_CREDENTIAL_INVALID",/);
    expect(metrics).not.toMatch(/code="INTERNAL"/);
  });
});
