import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqfedError } from '../protocol/index.ts';
import { call, type Federation, manualClock, startFederation } from './discovery.fixtures.ts';
import { createDiscoveryClient, type DiscoveryClient } from './discovery-client.ts';

/** A discovery client acting as broker `id`, with a token of its own. */
async function brokerClient(federation: Federation, id: string): Promise<DiscoveryClient> {
  const token = await federation.tokenFor(id, 'broker');
  return createDiscoveryClient({ url: federation.discovery.url, token: async () => token });
}

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: MqfedError) => error.code,
  );

/** The value of the sample of `name` whose labels include `labels`, from /metrics. */
async function metric(
  federation: Federation,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const text = await (await fetch(`${federation.discovery.url}/metrics`)).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const has = new Set((match[2] ?? '').split(','));
    if (wanted.every((label) => has.has(label))) return Number(match[3]);
  }
  return undefined;
}

/** A request whose path goes out as written: fetch would resolve `.` and `..` segments. */
function unnormalized(
  base: string,
  method: string,
  path: string,
  bearer: string,
  body: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${base}${path}`, {
      method,
      path,
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    });
    outgoing.on('error', reject);
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        }),
      );
    });
    outgoing.end(body);
  });
}

describe('the session directory says which broker holds a client’s session', () => {
  it('claims, looks up and releases a session', async () => {
    await using federation = await startFederation();
    const b1 = await brokerClient(federation, 'b1');
    expect(await b1.lookupSession('car/7')).toBeUndefined();

    const claim = await b1.claimSession('car/7');
    expect(claim).toEqual({
      clientId: 'car/7',
      holder: 'b1',
      epoch: expect.any(Number),
      previous: null,
    });
    const found = await b1.lookupSession('car/7');
    expect(found).toEqual({
      clientId: 'car/7',
      holder: 'b1',
      epoch: claim.epoch,
      since: found?.since,
    });
    expect(Math.abs((found?.since ?? 0) - Date.now())).toBeLessThan(60_000);

    await b1.releaseSession('car/7', claim.epoch);
    expect(await b1.lookupSession('car/7')).toBeUndefined();
    // Releasing what nobody holds is done already.
    await b1.releaseSession('car/7');
    expect(await metric(federation, 'mqfed_discovery_sessions')).toBe(0);
  });

  it('answers the previous holder when a session moves, with a larger epoch each claim', async () => {
    await using federation = await startFederation();
    const b1 = await brokerClient(federation, 'b1');
    const b2 = await brokerClient(federation, 'b2');
    const first = await b1.claimSession('phone');
    const again = await b1.claimSession('phone');
    expect(again.previous).toEqual({ holder: 'b1', epoch: first.epoch });
    const moved = await b2.claimSession('phone');
    expect(moved).toMatchObject({ holder: 'b2', previous: { holder: 'b1', epoch: again.epoch } });
    expect(again.epoch).toBeGreaterThan(first.epoch);
    expect(moved.epoch).toBeGreaterThan(again.epoch);
    expect((await b1.lookupSession('phone'))?.holder).toBe('b2');
    const claims = 'mqfed_discovery_session_claims_total';
    expect(await metric(federation, claims, { outcome: 'new' })).toBe(1);
    expect(await metric(federation, claims, { outcome: 'kept' })).toBe(1);
    expect(await metric(federation, claims, { outcome: 'moved' })).toBe(1);
  });

  it('orders two concurrent claims: the later one names the earlier, and holds the session', async () => {
    await using federation = await startFederation();
    const b1 = await brokerClient(federation, 'b1');
    const b2 = await brokerClient(federation, 'b2');
    for (let round = 0; round < 5; round++) {
      const clientId = `racer-${round}`;
      const [one, two] = await Promise.all([b1.claimSession(clientId), b2.claimSession(clientId)]);
      const [earlier, later] = one.epoch < two.epoch ? [one, two] : [two, one];
      expect(earlier.epoch).not.toBe(later.epoch);
      expect(earlier.previous).toBeNull();
      expect(later.previous).toEqual({ holder: earlier.holder, epoch: earlier.epoch });
      expect(await b1.lookupSession(clientId)).toMatchObject({
        holder: later.holder,
        epoch: later.epoch,
      });
    }
  });

  it('lets only the current holder, at the current epoch, release a session', async () => {
    await using federation = await startFederation();
    const b1 = await brokerClient(federation, 'b1');
    const b2 = await brokerClient(federation, 'b2');
    const old = await b1.claimSession('meter');
    const current = await b2.claimSession('meter');
    // b1 lost it: its release must not remove b2's entry.
    expect(await codeOf(b1.releaseSession('meter', old.epoch))).toBe('SESSION_MOVED');
    expect(await codeOf(b1.releaseSession('meter'))).toBe('SESSION_MOVED');
    const renewed = await b2.claimSession('meter');
    expect(await codeOf(b2.releaseSession('meter', current.epoch))).toBe('SESSION_MOVED');
    expect((await b2.lookupSession('meter'))?.epoch).toBe(renewed.epoch);

    const raw = await call(`${federation.discovery.url}/sessions/meter?epoch=${current.epoch}`, {
      method: 'DELETE',
      bearer: await federation.tokenFor('b3', 'broker'),
    });
    expect([raw.status, raw.body.code]).toEqual([409, 'SESSION_MOVED']);
    const bearer = await federation.tokenFor('b9', 'broker');
    const none = await call(`${federation.discovery.url}/sessions/nobody`, {
      method: 'DELETE',
      bearer,
    });
    expect([none.status, none.body.code]).toEqual([404, 'SESSION_NOT_FOUND']);
    const lookup = await call(`${federation.discovery.url}/sessions/nobody`, { bearer });
    expect([lookup.status, lookup.body.code]).toEqual([404, 'SESSION_NOT_FOUND']);

    await b2.releaseSession('meter', renewed.epoch);
    expect(await b2.lookupSession('meter')).toBeUndefined();
  });

  it('keeps a broker at its cap and the directory at its total, and stays up', async () => {
    await using federation = await startFederation({ maxSessionsPerBroker: 3, maxSessions: 5 });
    const b1 = await brokerClient(federation, 'b1');
    const b2 = await brokerClient(federation, 'b2');
    for (const id of ['a', 'b', 'c']) await b1.claimSession(id);
    expect(await codeOf(b1.claimSession('d'))).toBe('SESSION_LIMIT_EXCEEDED');
    // A session b1 holds already is not one more.
    expect((await b1.claimSession('a')).previous?.holder).toBe('b1');
    await b2.claimSession('x');
    await b2.claimSession('y');
    // Five entries: b2 may not add a sixth, but may take one of b1's.
    expect(await codeOf(b2.claimSession('z'))).toBe('SESSION_LIMIT_EXCEEDED');
    expect((await b2.claimSession('a')).previous?.holder).toBe('b1');
    expect(await codeOf(b2.claimSession('b'))).toBe('SESSION_LIMIT_EXCEEDED');
    // b1 has room again for one, and it was taken back from b2.
    expect((await b1.claimSession('a')).previous?.holder).toBe('b2');

    const raw = await call(`${federation.discovery.url}/sessions/d`, {
      method: 'PUT',
      bearer: await federation.tokenFor('b3', 'broker'),
      body: {},
    });
    expect([raw.status, raw.body.code]).toEqual([429, 'SESSION_LIMIT_EXCEEDED']);
    expect((await call(`${federation.discovery.url}/healthz`)).body).toEqual({ status: 'ok' });
    expect(await metric(federation, 'mqfed_discovery_sessions')).toBe(5);
    const claims = 'mqfed_discovery_session_claims_total';
    expect(await metric(federation, claims, { outcome: 'refused' })).toBe(4);
    const limits = 'mqfed_discovery_limit_refusals_total';
    expect(await metric(federation, limits, { limit: 'sessions_per_broker' })).toBe(2);
    expect(await metric(federation, limits, { limit: 'sessions' })).toBe(2);
  });

  it('restores a broker’s sessions after a discovery restart, leaving those held elsewhere', async () => {
    await using federation = await startFederation({ maxSessionsPerBroker: 4 });
    const b1 = await brokerClient(federation, 'b1');
    const b2 = await brokerClient(federation, 'b2');
    await b2.claimSession('taken');
    const mine = await b1.claimSession('mine');
    const restored = await b1.restoreSessions('b1', [
      'mine',
      'free-1',
      'taken',
      'free-2',
      'free-1',
    ]);
    expect(restored).toEqual({ claimed: 2, heldElsewhere: ['taken'] });
    expect((await b1.lookupSession('taken'))?.holder).toBe('b2');
    expect((await b1.lookupSession('free-2'))?.holder).toBe('b1');
    // A session it held already keeps its epoch.
    expect((await b1.lookupSession('mine'))?.epoch).toBe(mine.epoch);
    // All or none: two more would take b1 over its cap of four.
    expect(await codeOf(b1.restoreSessions('b1', ['free-3', 'free-4']))).toBe(
      'SESSION_LIMIT_EXCEEDED',
    );
    expect(await b1.lookupSession('free-3')).toBeUndefined();

    const base = federation.discovery.url;
    const bearer = await federation.tokenFor('b3', 'broker');
    const asOther = await call(`${base}/brokers/b1/sessions`, {
      method: 'PUT',
      bearer,
      body: { clientIds: ['x'] },
    });
    expect([asOther.status, asOther.body.code]).toEqual([403, 'IDENTITY_MISMATCH']);
    const tooMany = await call(`${base}/brokers/b3/sessions`, {
      method: 'PUT',
      bearer,
      body: { clientIds: Array.from({ length: 10_001 }, (_, i) => `${i}`) },
    });
    expect([tooMany.status, tooMany.body.code]).toEqual([400, 'INVALID_REQUEST']);
    const unknownField = await call(`${base}/brokers/b3/sessions`, {
      method: 'PUT',
      bearer,
      body: { clientIds: [], force: true },
    });
    expect([unknownField.status, unknownField.body.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('caps the list of sessions held elsewhere at 1000', async () => {
    await using federation = await startFederation();
    const b1 = await brokerClient(federation, 'b1');
    const b2 = await brokerClient(federation, 'b2');
    const ids = Array.from({ length: 1_200 }, (_, i) => `c${i}`);
    expect(await b2.restoreSessions('b2', ids)).toEqual({ claimed: 1_200, heldElsewhere: [] });
    const answer = await b1.restoreSessions('b1', [...ids, 'own']);
    expect(answer.claimed).toBe(1);
    expect(answer.heldElsewhere).toHaveLength(1_000);
    expect(answer.heldElsewhere.slice(0, 2)).toEqual(['c0', 'c1']);
  });

  it('drops the sessions of a broker that has had no lease for the orphan TTL', async () => {
    const clock = manualClock();
    await using federation = await startFederation({ clock, sessionOrphanTtlMs: 1_000 });
    const b1 = await brokerClient(federation, 'b1');
    const b2 = await brokerClient(federation, 'b2');
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', ttlMs: 60_000 });
    await b1.claimSession('kept');
    // b2 never registers: its orphan time runs from its first claim.
    await b2.claimSession('lost');
    clock.advance(999);
    expect((await b1.lookupSession('lost'))?.holder).toBe('b2');
    clock.advance(1);
    expect(await b1.lookupSession('lost')).toBeUndefined();
    // A live lease keeps sessions however long; a deregistered broker keeps them for the TTL.
    clock.advance(5_000);
    await b1.renew('b1');
    expect((await b1.lookupSession('kept'))?.holder).toBe('b1');
    await b1.deregister('b1');
    clock.advance(999);
    expect((await b1.lookupSession('kept'))?.holder).toBe('b1');
    // Registering again in time keeps them.
    await b1.register({ id: 'b1', linkUrl: 'ws://b1/peer', ttlMs: 60_000 });
    clock.advance(5_000);
    expect((await b1.lookupSession('kept'))?.holder).toBe('b1');
    await b1.deregister('b1');
    clock.advance(1_000);
    expect(await b1.lookupSession('kept')).toBeUndefined();
    expect(await metric(federation, 'mqfed_discovery_sessions')).toBe(0);
  });
});

describe('the session routes refuse callers and input they must not take', () => {
  // One federation for these cases: each is a request that changes nothing, or its own client id.
  let federation: Federation;
  let bearer: string;
  beforeAll(async () => {
    federation = await startFederation();
    bearer = await federation.tokenFor('b1', 'broker');
  });
  afterAll(() => federation[Symbol.asyncDispose]());

  it('takes claims, releases and restores from brokers only', async () => {
    const base = federation.discovery.url;
    const client = await federation.tokenFor('mqtt-client', 'client');
    const tool = await federation.tokenFor('monitor', 'discovery');
    const cases = [
      ['PUT', '/sessions/c1', {}],
      ['DELETE', '/sessions/c1', undefined],
      ['PUT', '/brokers/b1/sessions', { clientIds: [] }],
    ] as const;
    for (const [method, path, body] of cases) {
      const withBody = body === undefined ? {} : { body };
      for (const token of [client, tool]) {
        const answer = await call(`${base}${path}`, { method, bearer: token, ...withBody });
        expect([path, answer.status, answer.body.code]).toEqual([path, 403, 'ROLE_FORBIDDEN']);
      }
      const anonymous = await call(`${base}${path}`, { method, ...withBody });
      expect([path, anonymous.status, anonymous.body.code]).toEqual([path, 401, 'TOKEN_MISSING']);
    }
    // A discovery-role tool may look up; an MQTT client's token may not.
    await call(`${base}/sessions/looked-up`, { method: 'PUT', bearer, body: {} });
    const looked = await call(`${base}/sessions/looked-up`, { bearer: tool });
    expect([looked.status, looked.body.holder]).toEqual([200, 'b1']);
    const byClient = await call(`${base}/sessions/looked-up`, { bearer: client });
    expect([byClient.status, byClient.body.code]).toEqual([403, 'ROLE_FORBIDDEN']);
    const anonymous = await call(`${base}/sessions/looked-up`);
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'TOKEN_MISSING']);
  });

  it.each([
    ['an empty client id', 'PUT', '/sessions/', {}],
    ['a client id of 257 bytes', 'PUT', `/sessions/${'x'.repeat(257)}`, {}],
    ['a client id of 129 two-byte characters', 'PUT', `/sessions/${'%C3%A9'.repeat(129)}`, {}],
    ['an invalid %-escape', 'PUT', '/sessions/a%zz', {}],
    ['an escape that is not UTF-8', 'GET', '/sessions/a%FF', undefined],
    ['a claim with an unknown field', 'PUT', '/sessions/c1', { epoch: 3 }],
    ['a claim that is a list', 'PUT', '/sessions/c1', []],
    ['an epoch that is no number', 'DELETE', '/sessions/c1?epoch=new', undefined],
    ['a negative epoch', 'DELETE', '/sessions/c1?epoch=-1', undefined],
    ['two epochs', 'DELETE', '/sessions/c1?epoch=1&epoch=2', undefined],
    ['an unknown query field', 'DELETE', '/sessions/c1?force=1', undefined],
    ['a restore with an empty id', 'PUT', '/brokers/b1/sessions', { clientIds: [''] }],
    ['a restore of no list', 'PUT', '/brokers/b1/sessions', { clientIds: 'c1' }],
  ] as const)('%s is 400 INVALID_REQUEST', async (_name, method, path, body) => {
    const answer = await call(`${federation.discovery.url}${path}`, {
      method,
      bearer,
      ...(body === undefined ? {} : { body }),
    });
    expect([answer.status, answer.body.code]).toEqual([400, 'INVALID_REQUEST']);
  });

  it('refuses the client ids . and .., which only a client that does not resolve URLs can send', async () => {
    for (const path of ['/sessions/..', '/sessions/.', '/sessions/%2e%2E']) {
      const answer = await unnormalized(federation.discovery.url, 'PUT', path, bearer, '{}');
      expect([path, answer.status, answer.body.code]).toEqual([path, 400, 'INVALID_REQUEST']);
    }
  });

  it('a claim without a body is BODY_MISSING', async () => {
    const answer = await call(`${federation.discovery.url}/sessions/c1`, { method: 'PUT', bearer });
    expect([answer.status, answer.body.code]).toEqual([400, 'BODY_MISSING']);
  });

  it('takes client ids of 256 bytes, slashes and spaces included', async () => {
    const b1 = createDiscoveryClient({ url: federation.discovery.url, token: async () => bearer });
    for (const clientId of ['é'.repeat(128), 'x'.repeat(256), 'a/b c?d#e%f', '...']) {
      expect((await b1.claimSession(clientId)).clientId).toBe(clientId);
      expect((await b1.lookupSession(clientId))?.clientId).toBe(clientId);
    }
    expect(await codeOf(b1.claimSession('..'))).toBe('INVALID_REQUEST');
    expect(await codeOf(b1.lookupSession('.'))).toBe('INVALID_REQUEST');
  });
});
