import { describe, expect, it } from 'vitest';
import type { MqfedError } from '../protocol/index.ts';
import { call, startFederation } from './discovery.fixtures.ts';
import { createDiscoveryClient } from './discovery-client.ts';
import { rawUpgrade } from './wire.fixtures.ts';

const registerBody = { linkUrl: 'ws://b1/peer' };

/** Every endpoint, as [name, method, path, body] for broker b1. */
const endpoints: [string, string, string, object | undefined][] = [
  ['register', 'PUT', '/brokers/b1', registerBody],
  ['renew', 'POST', '/brokers/b1/lease', undefined],
  ['deregister', 'DELETE', '/brokers/b1', undefined],
  ['advertise', 'PATCH', '/brokers/b1/topics', { add: ['a'] }],
  ['advertise interest', 'PATCH', '/brokers/b1/interest', { add: ['a'] }],
  ['lookup', 'GET', '/brokers?filter=a', undefined],
];
const brokerOnly = endpoints.filter(([name]) => name !== 'lookup');

describe('every discovery call needs a valid token', () => {
  it.each(endpoints)(
    '%s without a token is TOKEN_MISSING, with a forged one TOKEN_INVALID',
    async (_name, method, path, body) => {
      await using federation = await startFederation();
      const url = `${federation.discovery.url}${path}`;
      const missing = await call(url, { method, ...(body === undefined ? {} : { body }) });
      expect([missing.status, missing.body.code]).toEqual([401, 'TOKEN_MISSING']);
      const forged = await call(url, {
        method,
        bearer: 'not.a.jwt',
        ...(body === undefined ? {} : { body }),
      });
      expect([forged.status, forged.body.code]).toEqual([401, 'TOKEN_INVALID']);
    },
  );

  it('authenticates before it parses: an anonymous malformed body is TOKEN_MISSING', async () => {
    await using federation = await startFederation();
    const answer = await call(`${federation.discovery.url}/brokers/b1`, {
      method: 'PUT',
      body: '{',
    });
    expect([answer.status, answer.body.code]).toEqual([401, 'TOKEN_MISSING']);
  });

  it('a token for another audience is TOKEN_CLAIM_INVALID; one from another issuer’s keys is refused', async () => {
    await using federation = await startFederation({ audience: 'somewhere-else' });
    await using stranger = await startFederation();
    const url = `${federation.discovery.url}/brokers`;
    const wrongAudience = await call(url, { bearer: await federation.tokenFor('b1', 'broker') });
    expect([wrongAudience.status, wrongAudience.body.code]).toEqual([401, 'TOKEN_CLAIM_INVALID']);
    const foreign = await call(url, { bearer: await stranger.tokenFor('b1', 'broker') });
    expect([foreign.status, foreign.body.code]).toEqual([401, 'TOKEN_INVALID']);
  });

  it.each(brokerOnly)(
    '%s needs the broker role: a discovery-role token is ROLE_FORBIDDEN',
    async (_name, method, path, body) => {
      await using federation = await startFederation();
      const bearer = await federation.tokenFor('b1', 'discovery');
      const answer = await call(`${federation.discovery.url}${path}`, {
        method,
        bearer,
        ...(body === undefined ? {} : { body }),
      });
      expect([answer.status, answer.body.code]).toEqual([403, 'ROLE_FORBIDDEN']);
    },
  );

  it.each(brokerOnly)(
    '%s as another broker is IDENTITY_MISMATCH',
    async (_name, method, path, body) => {
      await using federation = await startFederation();
      const bearer = await federation.tokenFor('b2', 'broker', { pub: ['#'] });
      const answer = await call(`${federation.discovery.url}${path}`, {
        method,
        bearer,
        ...(body === undefined ? {} : { body }),
      });
      expect([answer.status, answer.body.code]).toEqual([403, 'IDENTITY_MISMATCH']);
    },
  );

  it('a broker advertises only inside its pub scope, and may always withdraw', async () => {
    await using federation = await startFederation();
    const token = await federation.tokenFor('b1', 'broker', { pub: ['sensors/#', 'alerts/+'] });
    const b1 = createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: MqfedError) => error.code,
      );
    expect(await codeOf(b1.register({ id: 'b1', linkUrl: 'ws://b1', topics: ['other'] }))).toBe(
      'SCOPE_DENIED',
    );
    await b1.register({ id: 'b1', linkUrl: 'ws://b1', topics: ['sensors/#', 'alerts/fire'] });
    for (const outside of ['#', '+/t1', 'alerts/#', 'alerts/fire/x', '$SYS/x', 'other']) {
      expect(await codeOf(b1.advertise('b1', { add: [outside] })), outside).toBe('SCOPE_DENIED');
    }
    expect(
      await b1.advertise('b1', { add: ['sensors/+/t', 'alerts/+'], remove: ['never/advertised'] }),
    ).toEqual({
      topics: ['alerts/+', 'alerts/fire', 'sensors/#', 'sensors/+/t'],
    });
    // A refused delta changes nothing, even its in-scope part.
    expect(await codeOf(b1.advertise('b1', { add: ['sensors/x', 'other'] }))).toBe('SCOPE_DENIED');
    expect((await b1.lookup()).map((broker) => broker.topics)).toEqual([
      ['alerts/+', 'alerts/fire', 'sensors/#', 'sensors/+/t'],
    ]);
  });

  it('a broker advertises interest only inside its sub scope, and may always drop it', async () => {
    await using federation = await startFederation();
    const token = await federation.tokenFor('b1', 'broker', {
      pub: ['sensors/#'],
      sub: ['alerts/#', 'cmd/+'],
    });
    const b1 = createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: MqfedError) => error.code,
      );
    const register = (interest: string[]) =>
      b1.register({ id: 'b1', linkUrl: 'ws://b1', topics: ['sensors/t'], interest });
    // The pub scope does not count for interest, nor the sub scope for topics.
    expect(await codeOf(register(['sensors/t']))).toBe('SCOPE_DENIED');
    expect(await codeOf(b1.register({ id: 'b1', linkUrl: 'ws://b1', topics: ['alerts/a'] }))).toBe(
      'SCOPE_DENIED',
    );
    await register(['alerts/#']);
    for (const outside of ['#', '+/x', 'cmd/#', 'cmd/a/b', '$SYS/x', 'other']) {
      expect(await codeOf(b1.advertiseInterest('b1', { add: [outside] })), outside).toBe(
        'SCOPE_DENIED',
      );
    }
    expect(
      await b1.advertiseInterest('b1', { add: ['cmd/x', 'alerts/+'], remove: ['never/wanted'] }),
    ).toEqual({ interest: ['alerts/#', 'alerts/+', 'cmd/x'] });
    // A refused delta changes nothing, even its in-scope part.
    expect(await codeOf(b1.advertiseInterest('b1', { add: ['cmd/y', 'other'] }))).toBe(
      'SCOPE_DENIED',
    );
    expect((await b1.lookup()).map((broker) => broker.interest)).toEqual([
      ['alerts/#', 'alerts/+', 'cmd/x'],
    ]);
    // Removing is never checked against the scope: `never/wanted` above lies outside it.
    expect(await b1.advertiseInterest('b1', { remove: ['alerts/#', 'cmd/x'] })).toEqual({
      interest: ['alerts/+'],
    });
  });

  it('any broker or discovery-role service may look up and watch', async () => {
    await using federation = await startFederation();
    for (const [id, role] of [
      ['b7', 'broker'],
      ['monitor', 'discovery'],
    ] as const) {
      const token = await federation.tokenFor(id, role);
      const client = createDiscoveryClient({
        url: federation.discovery.url,
        token: async () => token,
      });
      expect(await client.lookup('#')).toEqual([]);
      await using watch = await client.watch('#', () => {});
      expect(watch.snapshot).toEqual([]);
    }
  });

  it('the watch upgrade without a valid token gets an HTTP error and no WebSocket', async () => {
    await using federation = await startFederation();
    const watchUrl = `${federation.discovery.url}/watch`;
    expect(await rawUpgrade(watchUrl)).toMatchObject({
      status: 401,
      upgraded: false,
      body: { code: 'TOKEN_MISSING' },
    });
    const forged = await rawUpgrade(watchUrl, { authorization: 'Bearer not.a.jwt' });
    expect(forged).toMatchObject({ status: 401, upgraded: false, body: { code: 'TOKEN_INVALID' } });
    const good = `Bearer ${await federation.tokenFor('monitor', 'discovery')}`;
    const wrongPath = await rawUpgrade(`${federation.discovery.url}/nope`, { authorization: good });
    expect(wrongPath).toMatchObject({
      status: 404,
      upgraded: false,
      body: { code: 'ROUTE_NOT_FOUND' },
    });
    expect(await rawUpgrade(watchUrl, { authorization: good })).toMatchObject({
      status: 101,
      upgraded: true,
    });
    const watcher = createDiscoveryClient({
      url: federation.discovery.url,
      token: async () => 'not.a.jwt',
    });
    await expect(watcher.watch('#', () => {})).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('counts denials by code on /metrics', async () => {
    await using federation = await startFederation();
    await call(`${federation.discovery.url}/brokers`);
    await rawUpgrade(`${federation.discovery.url}/watch`);
    const metrics = await (await fetch(`${federation.discovery.url}/metrics`)).text();
    expect(metrics).toMatch(
      /mqfed_discovery_denials_total\{code="TOKEN_MISSING",service="discovery"\} 2/,
    );
  });
});
