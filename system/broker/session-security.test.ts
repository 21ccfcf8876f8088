import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthClient, createAuthClient, type ServiceCredentials } from '../auth/index.ts';
import { requestJson } from '../common/index.ts';
import { createDiscoveryClient } from '../discovery/index.ts';
import { connectClient, startTestFederation, type TestFederation } from './broker.fixtures.ts';
import { metricOf } from './observe.fixtures.ts';
import { peerApiUrl } from './peer-api.ts';

/**
 * A registered broker that turned hostile ("spy", scope `spy/#`) against the session handover:
 * as a taker it cannot get what its token does not cover, nor the session of another
 * principal; as a giver it cannot make a client receive topics it did not subscribe, nor make
 * the taker hold an unbounded answer.
 */
describe('session moves against a hostile registered broker', () => {
  let federation: TestFederation;
  let auth: AuthClient;
  let spy: ServiceCredentials;

  beforeAll(async () => {
    federation = await startTestFederation({
      brokers: ['a', 'b'],
      broker: { sessionRelayMs: 200 },
    });
    auth = createAuthClient({ url: federation.auth.url });
    spy = await auth.registerService(federation.auth.adminCredential, {
      id: 'spy',
      role: 'broker',
      topics: { pub: ['spy/#'], sub: ['spy/#'] },
    });
  });
  afterAll(async () => {
    await federation?.[Symbol.asyncDispose]();
  });

  const take = async (broker: string, body: object, token?: string) =>
    requestJson<{
      found: boolean;
      subscriptions: { topic: string }[];
      messages: { topic: string }[];
    }>(peerApiUrl(federation.broker(broker).linkUrl, '/sessions/take'), {
      method: 'POST',
      body,
      bearer: token ?? (await auth.issueToken(spy, `broker:${broker}`)).token,
    });

  /** A persistent session at a with both secret and spy topics queued. */
  async function victimAtA(clientId: string) {
    const a = federation.broker('a');
    const victim = await mqtt.connectAsync(a.mqttUrl, {
      clientId,
      clean: false,
      reconnectPeriod: 0,
    });
    await victim.subscribeAsync(['secret/#', 'spy/#'], { qos: 1 });
    await victim.endAsync();
    await using publisher = await connectClient(a.mqttUrl);
    await publisher.publish('secret/plans', 'classified', 1);
    await publisher.publish('spy/news', 'public', 1);
  }

  it('refuses a take for another principal, and the session stays whole', async () => {
    await victimAtA('victim-1');
    await expect(
      take('a', {
        clientId: 'victim-1',
        epoch: Number.MAX_SAFE_INTEGER,
        owner: 'intruder',
        clean: false,
        from: 0,
      }),
    ).rejects.toMatchObject({ code: 'SESSION_FORBIDDEN' });
    // A claim older than the holder's own is refused too.
    await expect(
      take('a', { clientId: 'victim-1', epoch: 0, owner: null, clean: false, from: 0 }),
    ).rejects.toMatchObject({ code: 'SESSION_MOVED' });
    const back = await mqtt.connectAsync(federation.broker('a').mqttUrl, {
      clientId: 'victim-1',
      clean: false,
      reconnectPeriod: 0,
    });
    const got: string[] = [];
    back.on('message', (topic) => got.push(topic));
    await expect.poll(() => got.sort(), { timeout: 5_000 }).toEqual(['secret/plans', 'spy/news']);
    await back.endAsync();
  });

  it('gives a taker only the subscriptions and messages inside its token scope', async () => {
    await victimAtA('victim-2');
    const answer = await take('a', {
      clientId: 'victim-2',
      epoch: Number.MAX_SAFE_INTEGER,
      owner: null,
      clean: false,
      from: 0,
    });
    expect(answer.found).toBe(true);
    expect(answer.subscriptions.map((s) => s.topic)).toEqual(['spy/#']);
    expect(answer.messages.map((m) => m.topic)).toEqual(['spy/news']);
  });

  it('takes a tail only from a broker it took the session from', async () => {
    const a = federation.broker('a');
    const victim = await mqtt.connectAsync(a.mqttUrl, {
      clientId: 'victim-6',
      clean: false,
      reconnectPeriod: 0,
    });
    await victim.subscribeAsync('secret/#', { qos: 1 });
    const got: string[] = [];
    victim.on('message', (topic) => got.push(topic));
    const tail = {
      clientId: 'victim-6',
      epoch: 1,
      from: 0,
      done: true,
      messages: [
        {
          topic: 'secret/orders',
          payload: Buffer.from('forged').toString('base64'),
          qos: 1,
          dup: true,
        },
      ],
    };
    await expect(
      requestJson(peerApiUrl(a.linkUrl, '/sessions/tail'), {
        method: 'POST',
        body: tail,
        bearer: (await auth.issueToken(spy, 'broker:a')).token,
      }),
    ).rejects.toMatchObject({ code: 'SESSION_FORBIDDEN' });
    const refused = { side: 'taker', outcome: 'tail_refused' };
    expect(await metricOf(a, 'mqfed_broker_session_moves_total', refused)).toBe(1);
    await victim.endAsync();
    expect(got).toEqual([]);
  });

  it('refuses callers that are not a broker with a token for it', async () => {
    const body = { clientId: 'victim-3', epoch: 1, owner: null, clean: false, from: 0 };
    await expect(take('a', body, 'not-a-token')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    const forB = (await auth.issueToken(spy, 'broker:b')).token;
    await expect(take('a', body, forB)).rejects.toMatchObject({ code: 'TOKEN_CLAIM_INVALID' });
    await expect(take('a', { ...body, clientId: '' })).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
    });
  });

  describe('a hostile giver', () => {
    let server: Server;
    let answerWith: () => string;

    beforeAll(async () => {
      server = createServer((request, response) => {
        request.resume();
        request.on('end', () => {
          response.setHeader('content-type', 'application/json');
          response.end(answerWith());
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      await createDiscoveryClient({
        url: federation.discovery.url,
        token: async () => (await auth.issueToken(spy, 'discovery')).token,
      }).register({ id: 'spy', linkUrl: `ws://127.0.0.1:${port}/peer`, topics: ['spy/x'] });
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    /** The spy claims the client id at discovery, so b asks the spy for the session. */
    const spyHolds = async (clientId: string) =>
      createDiscoveryClient({
        url: federation.discovery.url,
        token: async () => (await auth.issueToken(spy, 'discovery')).token,
      }).claimSession(clientId);

    const message = (topic: string, text: string) => ({
      topic,
      payload: Buffer.from(text).toString('base64'),
      qos: 1,
      dup: false,
    });

    it('cannot make the client receive a topic it did not subscribe', async () => {
      const b = federation.broker('b');
      answerWith = () =>
        JSON.stringify({
          found: true,
          subscriptions: [{ topic: 'spy/#', qos: 1 }],
          messages: [message('spy/x', 'fine'), message('b/inbox', 'injected')],
          next: 2,
          done: true,
        });
      await spyHolds('victim-4');
      const refused = await metricOf(b, 'mqfed_broker_session_refused_messages_total');
      const client = await mqtt.connectAsync(b.mqttUrl, {
        clientId: 'victim-4',
        clean: false,
        reconnectPeriod: 0,
      });
      const got: string[] = [];
      client.on('message', (topic) => got.push(topic));
      await expect.poll(() => got, { timeout: 5_000 }).toEqual(['spy/x']);
      expect(await metricOf(b, 'mqfed_broker_session_refused_messages_total')).toBe(refused + 1);
      await client.endAsync();
    });

    it('cannot make the taker hold an oversized answer; the client still connects', async () => {
      const b = federation.broker('b');
      // Above the answer bound (two pages); the taker stops reading and starts the client afresh.
      const huge = 'x'.repeat(12 * 1024 * 1024);
      answerWith = () =>
        JSON.stringify({ found: true, subscriptions: [], messages: [], pad: huge });
      await spyHolds('victim-5');
      const failed = { side: 'taker', outcome: 'failed' };
      const before = await metricOf(b, 'mqfed_broker_session_moves_total', failed);
      const client = await mqtt.connectAsync(b.mqttUrl, {
        clientId: 'victim-5',
        clean: false,
        reconnectPeriod: 0,
      });
      expect(client.connected).toBe(true);
      expect(await metricOf(b, 'mqfed_broker_session_moves_total', failed)).toBe(before + 1);
      await client.endAsync();
      // b still serves: a fresh client gets what is published to it.
      await using sub = await connectClient(b.mqttUrl);
      await sub.subscribe('b/check', 1);
      await using pub = await connectClient(b.mqttUrl);
      await pub.publish('b/check', 'alive', 1);
      expect((await sub.receivedCount(1))[0]!.payload.toString()).toBe('alive');
    });
  });
});
