import { performance } from 'node:perf_hooks';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthClient, createAuthClient, type ServiceCredentials } from '../auth/index.ts';
import { createDiscoveryClient } from '../discovery/index.ts';
import type { TokenTarget } from '../protocol/index.ts';
import {
  type Ack,
  connectClient,
  type LinkClosed,
  nextEvent,
  startTestFederation,
  type TestFederation,
} from './broker.fixtures.ts';
import { attemptUpgrade, openRawPeer } from './raw-peer.fixtures.ts';
import { watchDiscovery } from './watch.fixtures.ts';

// Loose on purpose (a loaded 2-core machine): the real figure is measured by
// `npm run bench:revocation`; these tests show that revocation is pushed, not waited out.
const PUSHED_WITHIN_MS = 10_000;

describe('revocation, pushed from the auth service to every service', () => {
  let federation: TestFederation;
  let auth: AuthClient;
  let admin: string;
  const register = (id: string) =>
    auth.registerService(admin, { id, role: 'broker', topics: { pub: ['#'], sub: ['#'] } });
  const tokenFor = async (credentials: ServiceCredentials, target: TokenTarget = 'broker:b1') =>
    (await auth.issueToken(credentials, target)).token;
  const linkUrl = () => federation.broker('b1').linkUrl;

  beforeAll(async () => {
    federation = await startTestFederation({ brokers: 2 });
    auth = createAuthClient({ url: federation.auth.url });
    admin = federation.auth.adminCredential;
  });
  afterAll(async () => {
    await federation?.[Symbol.asyncDispose]();
  });

  it('cuts a revoked service off: its open link and watch close with TOKEN_REVOKED, its token opens nothing', async () => {
    const credentials = await register('p-revoked');
    const linkToken = await tokenFor(credentials);
    await using peer = await openRawPeer(linkUrl(), 'p-revoked', linkToken);
    const discoveryToken = await tokenFor(credentials, 'discovery');
    const discovery = createDiscoveryClient({
      url: federation.discovery.url,
      token: async () => discoveryToken,
    });
    await using watch = await discovery.watch('#', () => {});
    await discovery.register({
      id: 'p-revoked',
      linkUrl: 'ws://127.0.0.1:9/peer',
      topics: ['p/1'],
    });

    await auth.revokeService(admin, 'p-revoked');
    const returned = performance.now();
    const [link, watched] = await Promise.all([peer.closed, watch.closed]);
    expect(performance.now() - returned).toBeLessThan(PUSHED_WITHIN_MS);
    expect([link.code, link.reason]).toEqual([4401, 'TOKEN_REVOKED']);
    expect([watched.code, watched.reason]).toEqual([4401, 'TOKEN_REVOKED']);

    const again = await attemptUpgrade(linkUrl(), { token: linkToken });
    expect([again.status, again.body.code]).toEqual([401, 'TOKEN_REVOKED']);
    await expect(discovery.renew('p-revoked')).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
  });

  it('refuses one token revoked by its jti, and takes a fresh token of the same service', async () => {
    const credentials = await register('p-jti');
    const revoked = await tokenFor(credentials);
    await using peer = await openRawPeer(linkUrl(), 'p-jti', revoked);

    const { jti, exp } = decodeJwt(revoked);
    await auth.revokeToken(admin, jti!, exp);
    const closed = await peer.closed;
    expect([closed.code, closed.reason]).toEqual([4401, 'TOKEN_REVOKED']);
    const refused = await attemptUpgrade(linkUrl(), { token: revoked });
    expect([refused.status, refused.body.code]).toEqual([401, 'TOKEN_REVOKED']);

    await using fresh = await openRawPeer(linkUrl(), 'p-jti', await tokenFor(credentials));
    expect((await fresh.frame('hello')).brokerId).toBe('b1');
  });

  it('refuses tokens issued before a secret rotation, and takes those of the new secret', async () => {
    const credentials = await register('p-rotated');
    const old = await tokenFor(credentials);
    await using peer = await openRawPeer(linkUrl(), 'p-rotated', old);

    const rotated = await auth.rotateSecret(admin, 'p-rotated');
    const closed = await peer.closed;
    expect([closed.code, closed.reason]).toEqual([4401, 'TOKEN_REVOKED']);
    const refused = await attemptUpgrade(linkUrl(), { token: old });
    expect([refused.status, refused.body.code]).toEqual([401, 'TOKEN_REVOKED']);

    await using fresh = await openRawPeer(linkUrl(), 'p-rotated', await tokenFor(rotated));
    expect((await fresh.frame('hello')).brokerId).toBe('b1');
  });

  it('closes the link between two brokers when one is revoked, and removes it from discovery', async () => {
    const [b1, b2] = [federation.broker('b1'), federation.broker('b2')];
    await using monitor = await watchDiscovery(federation, '#');
    await using subscriber = await connectClient(b1.mqttUrl);
    await using publisher = await connectClient(b2.mqttUrl);
    const linked = nextEvent<Ack>(b1.events, 'subscribe-ack', (event) => event.peer === 'b2');
    await subscriber.subscribe('revocation/#');
    await publisher.publish('revocation/1', 'announce');
    expect((await linked).granted).toEqual(['revocation/#']);
    await monitor.next(
      (event) => event.type !== 'snapshot' && JSON.stringify(event).includes('b2'),
    );

    const closed = nextEvent<LinkClosed>(
      b1.events,
      'link-closed',
      (event) => event.peer === 'b2',
      PUSHED_WITHIN_MS,
    );
    await auth.revokeService(admin, 'b2');
    const returned = performance.now();
    expect((await closed).code).toBe('TOKEN_REVOKED');
    expect(performance.now() - returned).toBeLessThan(PUSHED_WITHIN_MS);
    expect(
      await monitor.next(
        (event) => event.type === 'left' && event.brokerId === 'b2',
        PUSHED_WITHIN_MS,
      ),
    ).toMatchObject({ reason: 'revoked' });

    const metrics = await (await fetch(`${b1.url}/metrics`)).text();
    expect(metrics).toMatch(/^mqfed_revocations_applied_total\{kind="subject"[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^mqfed_revocation_feed_connected\{[^}]*\} 1$/m);
    expect(metrics).toMatch(/^mqfed_revocation_propagation_seconds_count\{[^}]*\} [1-9]/m);
  });
});
