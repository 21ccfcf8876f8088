import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenWallet } from '../auth/index.ts';
import { call, startFederation } from './discovery.fixtures.ts';
import { createDiscoveryClient } from './discovery-client.ts';
import type { WatchEvent } from './watch-frames.ts';
import { eventQueue, openRawWatch } from './wire.fixtures.ts';

// Tokens of the auth service live whole seconds; these tests use the shortest it issues.
const shortTokenTtlMs = 2_000;

describe('a watch socket lives as long as its token', () => {
  it('is closed with TOKEN_EXPIRED when its token expires and no fresh one came', async () => {
    await using federation = await startFederation({}, shortTokenTtlMs);
    const token = await federation.tokenFor('monitor', 'discovery');
    const expiresAt = (decodeJwt(token).exp ?? 0) * 1000;
    await using socket = await openRawWatch(federation.discovery.watchUrl, token);
    expect(await socket.closed).toEqual({ code: 4401, reason: 'TOKEN_EXPIRED' });
    const lateBy = Date.now() - expiresAt;
    expect(lateBy).toBeGreaterThanOrEqual(0);
    expect(lateBy).toBeLessThan(200);
  });

  it('an auth frame with a fresh token of the same service moves the deadline', async () => {
    await using federation = await startFederation({}, shortTokenTtlMs);
    const credentials = await federation.credentialsFor('monitor', 'discovery');
    const first = await federation.tokenOf(credentials);
    await using socket = await openRawWatch(federation.discovery.watchUrl, first);
    // Token times are whole seconds: ask again until a token carries a later exp.
    let fresh = await federation.tokenOf(credentials);
    while (decodeJwt(fresh).exp === decodeJwt(first).exp) {
      await sleep(100);
      fresh = await federation.tokenOf(credentials);
    }
    socket.sendJson({ type: 'auth', token: fresh });
    const expiresAt = (decodeJwt(fresh).exp ?? 0) * 1000;
    expect((await socket.frames.next()).event).toEqual({ type: 'authed', expiresAt });
    expect(await socket.closed).toEqual({ code: 4401, reason: 'TOKEN_EXPIRED' });
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
  });

  it('the discovery client sends fresh tokens itself, so its watch outlives the first token', async () => {
    await using federation = await startFederation({}, shortTokenTtlMs);
    const credentials = await federation.credentialsFor('monitor', 'discovery');
    const tokens = createTokenWallet({ authUrl: federation.auth.url, ...credentials }).source(
      'discovery',
    );
    const watcher = createDiscoveryClient({
      url: federation.discovery.url,
      token: () => tokens.current(),
    });
    const firstExpiresAt = (decodeJwt(await tokens.current()).exp ?? 0) * 1000;
    const events = eventQueue<WatchEvent>();
    await using watch = await watcher.watch('#', (event) => events.push(event));
    await events.next();
    let closed = false;
    void watch.closed.then(() => {
      closed = true;
    });
    // Nothing to await here: the point is that time passes beyond the first token's expiry.
    await sleep(firstExpiresAt - Date.now() + 300);
    expect(closed).toBe(false);
    const bearer = await federation.tokenFor('b1', 'broker', { pub: ['#'] });
    await call(`${federation.discovery.url}/brokers/b1`, {
      method: 'PUT',
      bearer,
      body: { linkUrl: 'ws://b1/peer', topics: ['a'] },
    });
    expect((await events.next()).event).toMatchObject({ type: 'joined' });
    tokens.close();
  });
});
