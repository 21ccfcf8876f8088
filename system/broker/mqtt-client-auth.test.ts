import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAuthClient, type ServiceCredentials } from '../auth/index.ts';
import { createDiscoveryClient } from '../discovery/index.ts';
import { MqfedError, PEER_LINK_SUBPROTOCOL } from '../protocol/index.ts';
import {
  connectClient,
  learnsInterest,
  startTestFederation,
  type TestFederation,
} from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';
import {
  connackOf,
  loopbackUrl,
  rawMqtt,
  refusals,
  registerClient,
} from './mqtt-client.fixtures.ts';

const run = promisify(execFile);
const haveMosquitto = await run('mosquitto_pub', ['--help']).then(
  () => true,
  (error: { code?: unknown }) => error.code !== 'ENOENT',
);
if (!haveMosquitto && process.env.MQFED_REQUIRE_MOSQUITTO === '1') {
  throw new Error('mosquitto_pub is required here (MQFED_REQUIRE_MOSQUITTO=1) but missing');
}

describe('MQTT clients of a broker that listens beyond loopback', () => {
  let federation: TestFederation;
  /** Listens on 0.0.0.0: credentials required. b1 and b2 listen on loopback. */
  let open: BrokerService;
  let c1: ServiceCredentials;
  let spy: ServiceCredentials;
  let writer: ServiceCredentials;

  beforeAll(async () => {
    federation = await startTestFederation({ brokers: ['b1'] });
    open = await federation.startBroker('b3', { host: '0.0.0.0', declaredTopics: ['b/#'] });
    c1 = await registerClient(federation, 'c1', { pub: ['a/#'], sub: ['a/#'] });
    spy = await registerClient(federation, 'spy', { pub: [], sub: ['#'] });
    writer = await registerClient(federation, 'writer', { pub: ['b/#'], sub: [] });
  }, 60_000);
  afterAll(async () => {
    await federation?.[Symbol.asyncDispose]();
  });

  it('accepts a client by its id and secret, and refuses a wrong secret or an unknown id with CONNACK 4', async () => {
    const url = loopbackUrl(open);
    const before = await refusals(open, 'bad_credentials');
    expect(await connackOf(url, { clientId: 'c1', username: 'c1', password: c1.secret })).toBe(0);
    expect(
      await connackOf(url, { clientId: 'c1', username: 'c1', password: `${c1.secret}x` }),
    ).toBe(4);
    expect(
      await connackOf(url, { clientId: 'nobody', username: 'nobody', password: c1.secret }),
    ).toBe(4);
    expect(await refusals(open, 'bad_credentials')).toBe(before + 2);
    // The second CONNECT with the same secret is answered from the cache, the same way.
    expect(await connackOf(url, { clientId: 'c1', username: 'c1', password: c1.secret })).toBe(0);
  });

  it('refuses an anonymous CONNECT with CONNACK 5 on a non-loopback bind, and counts it', async () => {
    const before = await refusals(open, 'anonymous');
    expect(await connackOf(loopbackUrl(open), { clientId: 'anon' })).toBe(5);
    expect(await refusals(open, 'anonymous')).toBe(before + 1);
  });

  it('takes anonymous clients on a loopback-only broker, and anywhere with allowAnonymous', async () => {
    expect(await connackOf(federation.broker('b1').mqttUrl, { clientId: 'anon' })).toBe(0);
    const allowing = await federation.startBroker('b4', { host: '0.0.0.0', allowAnonymous: true });
    try {
      expect(await connackOf(loopbackUrl(allowing), { clientId: 'anon' })).toBe(0);
      // Credentials, when given, are still checked.
      expect(
        await connackOf(loopbackUrl(allowing), { clientId: 'c1', username: 'c1', password: 'no' }),
      ).toBe(4);
    } finally {
      await federation.stopBroker('b4');
    }
  });

  it('binds the MQTT client id to the client: its id or <id>/..., else CONNACK 2', async () => {
    const url = loopbackUrl(open);
    const as = (clientId: string) => ({ clientId, username: 'c1', password: c1.secret });
    expect(await connackOf(url, as('c1/phone'))).toBe(0);
    expect(await connackOf(url, as('spy'))).toBe(2);
    expect(await connackOf(url, as('c10'))).toBe(2);
  });

  it('accepts a client token for this broker as the password, and refuses a broker token with CONNACK 5', async () => {
    const auth = createAuthClient({ url: federation.auth.url });
    const { token } = await auth.issueToken(c1, 'broker:b3');
    expect(
      await connackOf(loopbackUrl(open), { clientId: 'c1', username: 'c1', password: token }),
    ).toBe(0);
    // The same client's token for another broker is worth nothing here.
    const elsewhere = (await auth.issueToken(c1, 'broker:b1')).token;
    expect(
      await connackOf(loopbackUrl(open), { clientId: 'c1', username: 'c1', password: elsewhere }),
    ).toBe(4);
    // A token presented under another client's name is refused.
    expect(
      await connackOf(loopbackUrl(open), { clientId: 'spy', username: 'spy', password: token }),
    ).toBe(4);
    const brokerCredentials = await auth.registerService(federation.auth.adminCredential, {
      id: 'bx',
      role: 'broker',
      topics: { pub: ['#'], sub: ['#'] },
    });
    const brokerToken = (await auth.issueToken(brokerCredentials, 'broker:b3')).token;
    const before = await refusals(open, 'not_client');
    expect(
      await connackOf(loopbackUrl(open), { clientId: 'bx', username: 'bx', password: brokerToken }),
    ).toBe(5);
    expect(await refusals(open, 'not_client')).toBe(before + 1);
  });

  it('delivers a publish outside the pub scope nowhere, not to a peer either, and closes the connection', async () => {
    const url = loopbackUrl(open);
    await using watcher = await connectClient(url, {
      clientId: 'spy',
      username: 'spy',
      password: spy.secret,
    });
    await watcher.subscribe('#');
    await using remote = await connectClient(federation.broker('b1').mqttUrl, {
      clientId: 'remote',
    });
    await remote.subscribe('b/#');
    await learnsInterest(open, 'b1', 'b/#');
    const before = await refusals(open, 'pub_scope');

    const intruder = await mqtt.connectAsync(url, {
      clientId: 'c1',
      username: 'c1',
      password: c1.secret,
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish('b/stolen', 'nope', { qos: 0 });
    await closed;
    await intruder.endAsync(true);
    expect(await refusals(open, 'pub_scope')).toBe(before + 1);

    // A publish in scope, sent after, is the first either subscriber gets.
    await using allowed = await connectClient(url, {
      clientId: 'writer',
      username: 'writer',
      password: writer.secret,
    });
    await allowed.publish('b/ok', 'yes', 1);
    const [local] = await watcher.receivedCount(1);
    const [far] = await remote.receivedCount(1, 10_000);
    expect([local?.topic, far?.topic]).toEqual(['b/ok', 'b/ok']);
  });

  it('refuses a subscription outside the sub scope with SUBACK 0x80, and counts it', async () => {
    await using client = await rawMqtt(loopbackUrl(open), 'c1', {
      username: 'c1',
      password: c1.secret,
    });
    const before = await refusals(open, 'sub_scope');
    client.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'a/#', qos: 1 },
        { topic: 'b/#', qos: 1 },
        { topic: '#', qos: 0 },
      ],
    });
    const [suback] = await client.received('suback', 1);
    expect((suback as { granted: number[] }).granted).toEqual([1, 128, 128]);
    expect(await refusals(open, 'sub_scope')).toBe(before + 2);
  });

  it.skipIf(!haveMosquitto)(
    'lets mosquitto_pub in with -u and -P, and turns a wrong password away',
    async () => {
      await using watcher = await connectClient(loopbackUrl(open), {
        clientId: 'spy',
        username: 'spy',
        password: spy.secret,
      });
      await watcher.subscribe('a/#');
      const { port } = new URL(loopbackUrl(open));
      const publish = (password: string) =>
        run('mosquitto_pub', [
          ...['-h', '127.0.0.1', '-p', port, '-i', 'c1', '-u', 'c1', '-P', password],
          ...['-t', 'a/from-mosquitto', '-m', 'hi', '-q', '1'],
        ]).then(
          () => 'published',
          (error: { stderr?: string }) => error.stderr ?? 'failed',
        );
      expect(await publish(`${c1.secret}x`)).toMatch(/bad user name or password/i);
      expect(await publish(c1.secret)).toBe('published');
      const [message] = await watcher.receivedCount(1);
      expect([message?.topic, message?.payload.toString()]).toEqual(['a/from-mosquitto', 'hi']);
    },
  );

  it('disconnects a client whose registration is revoked, and then refuses its secret', async () => {
    const doomed = await registerClient(federation, 'doomed', { pub: ['a/#'], sub: [] });
    const url = loopbackUrl(open);
    const client = await mqtt.connectAsync(url, {
      clientId: 'doomed',
      username: 'doomed',
      password: doomed.secret,
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await createAuthClient({ url: federation.auth.url }).revokeService(
      federation.auth.adminCredential,
      'doomed',
    );
    await closed;
    await client.endAsync(true);
    expect(
      await connackOf(url, { clientId: 'doomed', username: 'doomed', password: doomed.secret }),
    ).toBe(4);
  });

  it('disconnects a client that logged in with a token once that token is revoked by its jti', async () => {
    const holder = await registerClient(federation, 'holder', { pub: ['a/#'], sub: [] });
    const auth = createAuthClient({ url: federation.auth.url });
    const { token } = await auth.issueToken(holder, `broker:${open.id}`);
    const url = loopbackUrl(open);
    const withToken = await mqtt.connectAsync(url, {
      clientId: 'holder/token',
      username: 'holder',
      password: token,
      reconnectPeriod: 0,
    });
    const withSecret = await mqtt.connectAsync(url, {
      clientId: 'holder/secret',
      username: 'holder',
      password: holder.secret,
      reconnectPeriod: 0,
    });
    const closed = new Promise<void>((resolve) => withToken.once('close', () => resolve()));
    const { jti } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      jti: string;
    };
    await auth.revokeToken(federation.auth.adminCredential, jti);
    await closed;
    await withToken.endAsync(true);
    // The same client with its secret holds another token, and stays.
    expect(withSecret.connected).toBe(true);
    await withSecret.endAsync();
    expect(await connackOf(url, { clientId: 'holder', username: 'holder', password: token })).toBe(
      4,
    );
  });

  it('refuses a will outside the pub scope with CONNACK 5', async () => {
    expect(
      await connackOf(loopbackUrl(open), {
        clientId: 'c1',
        username: 'c1',
        password: c1.secret,
        will: { topic: 'b/last-words', payload: Buffer.from('bye'), qos: 0, retain: false },
      }),
    ).toBe(5);
  });
});

describe('a token of role client', () => {
  let federation: TestFederation;
  let client: ServiceCredentials;

  beforeAll(async () => {
    federation = await startTestFederation({ brokers: ['b1'] });
    client = await registerClient(federation, 'c1', { pub: ['#'], sub: ['#'] });
  }, 60_000);
  afterAll(async () => {
    await federation?.[Symbol.asyncDispose]();
  });

  it('cannot open a peer link (403 ROLE_FORBIDDEN before any WebSocket exists)', async () => {
    const { token } = await createAuthClient({ url: federation.auth.url }).issueToken(
      client,
      'broker:b1',
    );
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(federation.broker('b1').linkUrl, PEER_LINK_SUBPROTOCOL, {
        headers: { authorization: `Bearer ${token}` },
      });
      ws.on('unexpected-response', (request, response) => {
        request.destroy();
        resolve(response.statusCode ?? 0);
      });
      ws.on('open', () => {
        ws.terminate();
        reject(new Error('a client token opened a peer link'));
      });
      ws.on('error', reject);
    });
    expect(status).toBe(403);
    expect(federation.broker('b1').links()).toEqual([]);
  });

  it('cannot register a broker at discovery, nor look brokers up (ROLE_FORBIDDEN)', async () => {
    const { token } = await createAuthClient({ url: federation.auth.url }).issueToken(
      client,
      'discovery',
    );
    const discovery = createDiscoveryClient({
      url: federation.discovery.url,
      token: async () => token,
    });
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'accepted',
        (error: unknown) => (error instanceof MqfedError ? error.code : String(error)),
      );
    expect(await codeOf(discovery.register({ id: 'c1', linkUrl: 'ws://127.0.0.1:1/peer' }))).toBe(
      'ROLE_FORBIDDEN',
    );
    expect(await codeOf(discovery.lookup('#'))).toBe('ROLE_FORBIDDEN');
  });
});
