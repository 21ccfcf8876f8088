import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createAuthClient } from '../auth/index.ts';
import { type TempDir, tempDir } from '../common/testing.ts';
import { createDiscoveryClient } from '../discovery/index.ts';
import { PEER_LINK_SUBPROTOCOL } from '../protocol/index.ts';
import { connectClient, startTestFederation, type TestFederation } from './broker.fixtures.ts';
import { connackOf } from './mqtt-client.fixtures.ts';
import { attemptUpgrade, openRawPeer } from './raw-peer.fixtures.ts';

/**
 * Issue 12's critical finding, as an attacker would try it: a legitimately registered broker
 * with a narrow scope ("spy") collects every token another broker (b1) ever shows it, on links
 * b1 dialed and on links the spy dialed, and tries to act as b1 with them anywhere: at
 * discovery, at another broker, at b1 itself, and at the auth service. Every token is made for
 * the spy alone, so every attempt is refused.
 */
describe('a token shown to a peer is worthless anywhere else', () => {
  let dir: TempDir;
  let federation: TestFederation;
  /** Every token b1 showed the spy. */
  const shown: string[] = [];
  /** The spy's own token for b2: the control that shows b2 takes a token made for it. */
  let spyTokenForB2: string;

  beforeAll(async () => {
    dir = await tempDir('mqfed-token-replay-');
    federation = await startTestFederation({ dataDir: dir.path, brokers: 2 });
    const [b1] = federation.brokers();
    const auth = createAuthClient({ url: federation.auth.url });
    const spy = await auth.registerService(federation.auth.adminCredential, {
      id: 'spy',
      role: 'broker',
      topics: { pub: ['spy/#'], sub: ['spy/#'] },
    });
    spyTokenForB2 = (await auth.issueToken(spy, 'broker:b2')).token;

    // 1. The spy's link server: b1 dials it once one of b1's clients wants the spy's topics.
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: () => PEER_LINK_SUBPROTOCOL,
    });
    await once(server, 'listening');
    const dialedIn = new Promise<string>((resolve) => {
      server.once('connection', (socket, request) => {
        resolve((request.headers.authorization ?? '').replace(/^Bearer /, ''));
        socket.terminate();
      });
    });
    const { port } = server.address() as AddressInfo;
    const spyAtDiscovery = createDiscoveryClient({
      url: federation.discovery.url,
      token: async () => (await auth.issueToken(spy, 'discovery')).token,
    });
    await spyAtDiscovery.register({
      id: 'spy',
      linkUrl: `ws://127.0.0.1:${port}/peer`,
      topics: ['spy/data'],
    });
    const subscriber = await connectClient(b1!.mqttUrl);
    await subscriber.subscribe('spy/data');
    shown.push(await dialedIn);
    await subscriber[Symbol.asyncDispose]();
    server.close();

    // 2. The spy dials b1: b1 introduces itself with a TOKEN_REFRESH.
    const peer = await openRawPeer(
      b1!.linkUrl,
      'spy',
      (await auth.issueToken(spy, 'broker:b1')).token,
    );
    shown.push((await peer.frame('tokenRefresh')).token);
    await peer[Symbol.asyncDispose]();
  });
  afterAll(async () => {
    await federation?.close();
    await dir?.[Symbol.asyncDispose]();
  });

  it('b1 showed the spy only tokens of b1 made for the spy', () => {
    expect(shown).toHaveLength(2);
    for (const token of shown) {
      expect(decodeJwt(token)).toMatchObject({ sub: 'b1', aud: 'mqfed:broker:spy' });
    }
  });

  it('discovery refuses them: the spy cannot register, advertise, look up or watch as b1', async () => {
    for (const token of shown) {
      const asB1 = createDiscoveryClient({
        url: federation.discovery.url,
        token: async () => token,
      });
      await expect(
        asB1.register({ id: 'b1', linkUrl: 'ws://spy.invalid/peer', topics: ['#'] }),
      ).rejects.toMatchObject({ code: 'TOKEN_CLAIM_INVALID' });
      await expect(asB1.advertise('b1', { add: ['#'], remove: [] })).rejects.toMatchObject({
        code: 'TOKEN_CLAIM_INVALID',
      });
      await expect(asB1.lookup()).rejects.toMatchObject({ code: 'TOKEN_CLAIM_INVALID' });
      await expect(asB1.watch('#', () => {})).rejects.toMatchObject({
        code: 'TOKEN_CLAIM_INVALID',
      });
    }
    // b1's registration is untouched.
    const reader = createDiscoveryClient({
      url: federation.discovery.url,
      token: async () => (await issueReaderToken(federation)).token,
    });
    const b1 = (await reader.lookup()).find((record) => record.id === 'b1');
    expect(b1?.linkUrl).toBe(federation.broker('b1').linkUrl);
  });

  it('no broker takes them on a peer link, not b2 and not b1 itself', async () => {
    for (const token of shown) {
      for (const broker of federation.brokers()) {
        const refusal = await attemptUpgrade(broker.linkUrl, { token });
        expect(refusal).toEqual({
          status: 401,
          body: expect.objectContaining({ code: 'TOKEN_CLAIM_INVALID' }),
        });
      }
    }
    // The control: b2 opens a link for a token made for it.
    const control = await openRawPeer(federation.broker('b2').linkUrl, 'spy', spyTokenForB2);
    expect((await control.frame('tokenRefresh')).token).toBeTruthy();
    await control[Symbol.asyncDispose]();
  });

  it('no broker takes them as an MQTT login either, as b1 or as anyone', async () => {
    for (const token of shown) {
      for (const broker of federation.brokers()) {
        for (const username of ['b1', 'spy']) {
          expect(
            await connackOf(broker.mqttUrl, { clientId: username, username, password: token }),
          ).toBe(4);
        }
      }
    }
  });

  it('the auth service will not exchange them for tokens to anyone', async () => {
    const auth = createAuthClient({ url: federation.auth.url });
    for (const token of shown) {
      for (const audience of ['auth', 'discovery', 'broker:b2', 'broker:spy'] as const) {
        await expect(auth.exchangeToken(token, audience)).rejects.toMatchObject({
          code: 'TOKEN_CLAIM_INVALID',
        });
      }
    }
  });

  it('a token b1 holds for discovery is no good at a broker, and one for auth no good elsewhere', async () => {
    const auth = createAuthClient({ url: federation.auth.url });
    const reader = await issueReaderToken(federation);
    const forAuth = (await auth.issueToken(reader.credentials)).token;
    for (const broker of federation.brokers()) {
      expect((await attemptUpgrade(broker.linkUrl, { token: reader.token })).status).toBe(401);
      expect((await attemptUpgrade(broker.linkUrl, { token: forAuth })).status).toBe(401);
    }
    const asAuthHolder = createDiscoveryClient({
      url: federation.discovery.url,
      token: async () => forAuth,
    });
    await expect(asAuthHolder.lookup()).rejects.toMatchObject({ code: 'TOKEN_CLAIM_INVALID' });
  });
});

/** A discovery-role reader and its token for discovery. */
async function issueReaderToken(federation: TestFederation) {
  const auth = createAuthClient({ url: federation.auth.url });
  const credentials = await auth.registerService(federation.auth.adminCredential, {
    role: 'discovery',
    topics: { pub: [], sub: [] },
  });
  return { credentials, token: (await auth.issueToken(credentials, 'discovery')).token };
}
