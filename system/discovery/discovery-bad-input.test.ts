import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type Federation, startFederation } from './discovery.fixtures.ts';

const json = { 'content-type': 'application/json' };
let federation: Federation;
let bearer: string;

// One federation for the whole table: each case is one request that changes nothing.
beforeAll(async () => {
  federation = await startFederation({
    bodyLimitBytes: 4096,
    maxTopicsPerBroker: 3,
    maxInterestPerBroker: 1,
  });
  bearer = await federation.tokenFor('b1', 'broker', { pub: ['#'], sub: ['#'] });
  await call(`${federation.discovery.url}/brokers/b1`, {
    method: 'PUT',
    bearer,
    body: { linkUrl: 'ws://b1/peer', topics: ['a', 'b'], interest: ['x'] },
  });
});
afterAll(() => federation[Symbol.asyncDispose]());

/** A request: method, path, body (a string is sent verbatim), extra headers. */
type Case = [string, string, (string | object)?, Record<string, string>?];
const register = (body?: string | object, headers?: Record<string, string>): Case => [
  'PUT',
  '/brokers/b1',
  body,
  headers,
];

describe('the discovery service answers bad input with a stable code, never a 500', () => {
  it.each<[string, Case, number, string]>([
    ['malformed JSON', register('{"linkUrl":', json), 400, 'MALFORMED_JSON'],
    ['no body', register(undefined), 400, 'BODY_MISSING'],
    ['an empty JSON body', register('', json), 400, 'BODY_MISSING'],
    ['a JSON array body', register('[]', json), 400, 'INVALID_REQUEST'],
    [
      'a body that is not JSON',
      register('<a/>', { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'an oversized body',
      register({ linkUrl: 'ws://b1', topics: Array(600).fill('abcdefgh') }),
      413,
      'BODY_TOO_LARGE',
    ],
    ['a missing link URL', register({ topics: [] }), 400, 'INVALID_REQUEST'],
    ['an http link URL', register({ linkUrl: 'http://b1/peer' }), 400, 'INVALID_REQUEST'],
    ['a link URL that is no URL', register({ linkUrl: 'ws://' }), 400, 'INVALID_REQUEST'],
    [
      'a lease lifetime that is no number',
      register({ linkUrl: 'ws://b1', ttlMs: 'soon' }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'an invalid topic filter',
      register({ linkUrl: 'ws://b1', topics: ['a/#/b'] }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'a topic set over the cap',
      register({ linkUrl: 'ws://b1', topics: ['1', '2', '3', '4'] }),
      409,
      'TOPIC_LIMIT_EXCEEDED',
    ],
    [
      'an invalid interest filter',
      register({ linkUrl: 'ws://b1', interest: ['a/#/b'] }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'interest that is not a list',
      register({ linkUrl: 'ws://b1', interest: 'x' }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'interest over the cap',
      register({ linkUrl: 'ws://b1', interest: ['x', 'y'] }),
      409,
      'TOPIC_LIMIT_EXCEEDED',
    ],
    [
      'an invalid broker id',
      ['PUT', '/brokers/bad%20id', { linkUrl: 'ws://x' }],
      400,
      'INVALID_REQUEST',
    ],
    [
      'a delta that is not lists',
      ['PATCH', '/brokers/b1/topics', { add: 'c' }],
      400,
      'INVALID_REQUEST',
    ],
    [
      'a delta adding and removing one entry',
      ['PATCH', '/brokers/b1/topics', { add: ['c'], remove: ['c'] }],
      400,
      'INVALID_REQUEST',
    ],
    [
      'a delta going over the cap',
      ['PATCH', '/brokers/b1/topics', { add: ['c', 'd'] }],
      409,
      'TOPIC_LIMIT_EXCEEDED',
    ],
    ['an interest delta without a body', ['PATCH', '/brokers/b1/interest'], 400, 'BODY_MISSING'],
    [
      'an interest delta that is not lists',
      ['PATCH', '/brokers/b1/interest', { remove: 'x' }],
      400,
      'INVALID_REQUEST',
    ],
    [
      'an interest delta adding and removing one entry',
      ['PATCH', '/brokers/b1/interest', { add: ['y'], remove: ['y'] }],
      400,
      'INVALID_REQUEST',
    ],
    [
      'an interest delta going over the cap',
      ['PATCH', '/brokers/b1/interest', { add: ['y'] }],
      409,
      'TOPIC_LIMIT_EXCEEDED',
    ],
    ['an invalid lookup filter', ['GET', '/brokers?filter=a%2F%23%2Fb'], 400, 'INVALID_REQUEST'],
    ['an empty lookup filter', ['GET', '/brokers?filter='], 400, 'INVALID_REQUEST'],
    ['two lookup filters', ['GET', '/brokers?filter=a&filter=b'], 400, 'INVALID_REQUEST'],
    ['an unknown route', ['GET', '/nope'], 404, 'ROUTE_NOT_FOUND'],
    ['a method the route lacks', ['POST', '/brokers'], 404, 'ROUTE_NOT_FOUND'],
    ['the watch path without an upgrade', ['GET', '/watch'], 400, 'INVALID_REQUEST'],
  ])('%s', async (_name, [method, path, body, headers], status, code) => {
    const answer = await call(`${federation.discovery.url}${path}`, {
      method,
      bearer,
      ...(body === undefined ? {} : { body }),
      ...(headers === undefined ? {} : { headers }),
    });
    expect([answer.status, answer.body.code]).toEqual([status, code]);
    expect(typeof answer.body.message).toBe('string');
  });

  it('names the offending field, and keeps the broker as it was', async () => {
    const answer = await call(`${federation.discovery.url}/brokers/b1`, {
      method: 'PUT',
      bearer,
      body: { linkUrl: 'ws://b1', topics: ['ok', 'a/#/b'] },
    });
    expect(answer.body.message).toMatch(/^topics\.1: /);
    const lookup = await call(`${federation.discovery.url}/brokers`, { bearer });
    expect(lookup.body.brokers).toMatchObject([
      { id: 'b1', linkUrl: 'ws://b1/peer', topics: ['a', 'b'], interest: ['x'] },
    ]);
    expect((await call(`${federation.discovery.url}/healthz`)).body).toEqual({ status: 'ok' });
  });
});
