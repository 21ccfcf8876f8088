import { generateKeyPairSync } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthClient, type ServiceCredentials, startAuthService } from '../auth/index.ts';
import { type TempDir, tempDir } from '../common/testing.ts';
import {
  type ErrorCode,
  errorCatalogue,
  type TokenTarget,
  type TopicScopes,
} from '../protocol/index.ts';
import {
  type Ack,
  connectClient,
  type LinkClosed,
  nextEvent,
  startTestFederation,
  type TestFederation,
} from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';
import type { LinkEvent } from './peer-link.ts';
import { attemptUpgrade, openRawPeer } from './raw-peer.fixtures.ts';

type PeerSubscribed = Extract<LinkEvent, { type: 'peer-subscribed' }>;

// --- a fake peer: a registered service speaking raw frames over a plain ws WebSocket -----------

/** Registers a service with the federation's auth service and returns a fresh token for it. */
async function registerService(
  federation: TestFederation,
  id: string,
  topics: TopicScopes,
  role: 'broker' | 'discovery' = 'broker',
  // The fake peers dial the federation's first broker, b1: their tokens are made for it alone.
  audience: TokenTarget = 'broker:b1',
) {
  const client = createAuthClient({ url: federation.auth.url });
  const credentials = await client.registerService(federation.auth.adminCredential, {
    id,
    role,
    topics,
  });
  return { credentials, token: (await client.issueToken(credentials, audience)).token };
}

const attacker = generateKeyPairSync('ed25519').privateKey;

/** The genuine claims under the genuine kid, signed by a key the issuer never published. */
function forge(genuine: string): Promise<string> {
  return new SignJWT(decodeJwt(genuine))
    .setProtectedHeader({ alg: 'EdDSA', kid: decodeProtectedHeader(genuine).kid!, typ: 'JWT' })
    .sign(attacker);
}

// --- metrics ------------------------------------------------------------------------------------

/** The value of one series on a service's /metrics, matched by name and a subset of labels. */
async function metric(
  service: { url: string },
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) {
      return Number(match[3]);
    }
  }
  return 0;
}

const refusedCount = (broker: BrokerService, code: ErrorCode) =>
  metric(broker, 'mqfed_broker_link_upgrades_refused_total', { code });

// --- tests --------------------------------------------------------------------------------------

describe('a link upgrade is refused before any WebSocket exists', () => {
  let dir: TempDir;
  let federation: TestFederation;
  let broker: BrokerService;
  /** Tokens of the service `intruder`, all signed by the federation's own issuer key. */
  const tokens = { valid: '', expired: '', foreignAudience: '', forged: '', discovery: '' };

  beforeAll(async () => {
    dir = await tempDir('mqfed-link-security-');
    // Earlier runs of the federation's auth service on the same data directory (hence with the
    // same signing key) issue a token that expired ten minutes ago and one for another audience.
    const request = {
      id: 'intruder',
      role: 'broker' as const,
      topics: { pub: ['#'], sub: ['#'] },
    };
    const past = { now: () => Date.now() - 20 * 60_000 };
    let credentials: ServiceCredentials;
    {
      await using auth = await startAuthService({
        dataDir: dir.path,
        logLevel: 'silent',
        clock: past,
      });
      const client = createAuthClient({ url: auth.url });
      credentials = await client.registerService(auth.adminCredential, request);
      tokens.expired = (await client.issueToken(credentials, 'broker:b1')).token;
    }
    {
      await using auth = await startAuthService({
        dataDir: dir.path,
        logLevel: 'silent',
        audience: 'another-federation',
      });
      const client = createAuthClient({ url: auth.url });
      tokens.foreignAudience = (await client.issueToken(credentials, 'broker:b1')).token;
    }
    federation = await startTestFederation({ dataDir: dir.path, brokers: 1 });
    broker = federation.brokers()[0]!;
    const client = createAuthClient({ url: federation.auth.url });
    tokens.valid = (await client.issueToken(credentials, 'broker:b1')).token;
    tokens.forged = await forge(tokens.valid);
    tokens.discovery = (
      await registerService(
        federation,
        'a-discovery-service',
        { pub: ['#'], sub: ['#'] },
        'discovery',
      )
    ).token;
  });
  afterAll(async () => {
    await federation?.close();
    await dir?.[Symbol.asyncDispose]();
  });

  it.each([
    { name: 'no token', token: () => undefined, code: 'TOKEN_MISSING' },
    { name: 'an expired token', token: () => tokens.expired, code: 'TOKEN_EXPIRED' },
    { name: 'a token signed by another key', token: () => tokens.forged, code: 'TOKEN_INVALID' },
    {
      name: 'a token for another audience',
      token: () => tokens.foreignAudience,
      code: 'TOKEN_CLAIM_INVALID',
    },
  ] as const)(
    'answers $name with 401 $code, counts it, and creates no link',
    async ({ token, code }) => {
      const before = await refusedCount(broker, code);
      const refusal = await attemptUpgrade(broker.linkUrl, { token: token() });
      expect(refusal).toEqual({ status: 401, body: expect.objectContaining({ code }) });
      expect(await refusedCount(broker, code)).toBe(before + 1);
      expect(broker.links()).toEqual([]);
    },
  );

  it('answers a token of role discovery with 403 ROLE_FORBIDDEN', async () => {
    const before = await refusedCount(broker, 'ROLE_FORBIDDEN');
    const refusal = await attemptUpgrade(broker.linkUrl, { token: tokens.discovery });
    expect(refusal).toEqual({
      status: 403,
      body: expect.objectContaining({ code: 'ROLE_FORBIDDEN' }),
    });
    expect(await refusedCount(broker, 'ROLE_FORBIDDEN')).toBe(before + 1);
    expect(broker.links()).toEqual([]);
  });

  it.each([
    { name: 'no subprotocol', protocols: [] },
    { name: 'only an old version, mqfed.v1 (no acknowledgements)', protocols: ['mqfed.v1'] },
    {
      name: 'only the previous version, mqfed.v2 (unversioned retained messages)',
      protocols: ['mqfed.v2'],
    },
    { name: 'only a later version', protocols: ['mqfed.v4'] },
  ])(
    'answers a valid broker token offering $name with 400 PROTOCOL_UNSUPPORTED',
    async ({ protocols }) => {
      const before = await refusedCount(broker, 'PROTOCOL_UNSUPPORTED');
      const refusal = await attemptUpgrade(broker.linkUrl, { token: tokens.valid, protocols });
      expect(refusal).toEqual({
        status: 400,
        body: expect.objectContaining({ code: 'PROTOCOL_UNSUPPORTED' }),
      });
      expect(await refusedCount(broker, 'PROTOCOL_UNSUPPORTED')).toBe(before + 1);
      expect(broker.links()).toEqual([]);
    },
  );

  it('accepts the same service with a valid token and mqfed.v3, so the refusals above were about the token', async () => {
    const linked = nextEvent<LinkEvent>(broker.events, 'link-open', (e) => e.peer === 'intruder');
    await using peer = await openRawPeer(broker.linkUrl, 'intruder', tokens.valid);
    await linked;
    expect(await peer.frame('hello')).toMatchObject({ brokerId: broker.id });
    expect(broker.links().map((link) => link.peer)).toEqual(['intruder']);
  });
});

describe('a peer may subscribe only inside its token’s consume scope', () => {
  it('answers a SUBSCRIBE outside the scope with SCOPE_DENIED, counts it, and forwards nothing of it', async () => {
    await using federation = await startTestFederation({ brokers: 1 });
    const broker = federation.brokers()[0]!;
    const { token } = await registerService(federation, 'narrow', { pub: [], sub: ['allowed/#'] });
    const deniedBefore = await metric(broker, 'mqfed_broker_denials_total', {
      code: 'SCOPE_DENIED',
    });
    const subscribed = nextEvent<PeerSubscribed>(
      broker.events,
      'peer-subscribed',
      (e) => e.peer === 'narrow',
    );
    await using peer = await openRawPeer(broker.linkUrl, 'narrow', token);

    peer.send({ type: 'subscribe', requestId: 7, filters: ['allowed/#', 'secret/#', '#'] });
    const ack = await peer.frame('ack', (frame) => frame.requestId === 7);
    expect(ack.results).toEqual([
      { filter: 'allowed/#', granted: true },
      { filter: 'secret/#', granted: false, code: 'SCOPE_DENIED' },
      { filter: '#', granted: false, code: 'SCOPE_DENIED' },
    ]);
    expect(await subscribed).toMatchObject({ granted: ['allowed/#'], denied: ['secret/#', '#'] });
    expect(await metric(broker, 'mqfed_broker_denials_total', { code: 'SCOPE_DENIED' })).toBe(
      deniedBefore + 2,
    );

    // Order per origin is kept: had the secret been forwarded, it would arrive first.
    await using publisher = await connectClient(broker.mqttUrl);
    await publisher.publish('secret/plan', 'not for you');
    await publisher.publish('allowed/news', 'hello');
    await peer.frame('publish', (frame) => frame.topic === 'allowed/news');
    const topics = peer.frames.flatMap((frame) => (frame.type === 'publish' ? [frame.topic] : []));
    expect(topics).toEqual(['allowed/news']);
  });

  it('bounds what a peer may hold subscribed on a link, in number and in bytes', async () => {
    await using federation = await startTestFederation({
      brokers: 1,
      broker: { maxPeerFilters: 3, maxPeerFilterBytes: 40 },
    });
    const broker = federation.brokers()[0]!;
    const { token } = await registerService(federation, 'greedy', { pub: [], sub: ['#'] });
    await using peer = await openRawPeer(broker.linkUrl, 'greedy', token);

    peer.send({ type: 'subscribe', requestId: 1, filters: ['a/#', 'b/#', 'c/#', 'd/#', 'a/#'] });
    const first = await peer.frame('ack', (frame) => frame.requestId === 1);
    expect(first.results).toEqual([
      { filter: 'a/#', granted: true },
      { filter: 'b/#', granted: true },
      { filter: 'c/#', granted: true },
      { filter: 'd/#', granted: false, code: 'SUBSCRIPTION_LIMIT_EXCEEDED' },
      // Already held: granted again, it costs nothing more.
      { filter: 'a/#', granted: true },
    ]);
    // Unsubscribing gives the room back; the byte bound (40) still refuses a long filter.
    peer.send({ type: 'unsubscribe', requestId: 2, filters: ['c/#'] });
    await peer.frame('ack', (frame) => frame.requestId === 2);
    peer.send({ type: 'subscribe', requestId: 3, filters: [`${'x'.repeat(40)}/#`, 'd/#'] });
    const third = await peer.frame('ack', (frame) => frame.requestId === 3);
    expect(third.results).toEqual([
      { filter: `${'x'.repeat(40)}/#`, granted: false, code: 'SUBSCRIPTION_LIMIT_EXCEEDED' },
      { filter: 'd/#', granted: true },
    ]);
    expect(broker.links().find((link) => link.peer === 'greedy')?.peerFilters).toEqual([
      'a/#',
      'b/#',
      'd/#',
    ]);
    expect(
      await metric(broker, 'mqfed_broker_denials_total', { code: 'SUBSCRIPTION_LIMIT_EXCEEDED' }),
    ).toBe(2);
  });

  it('a broker whose token consumes only allowed/# gets no other data, even for a client subscribed to #', async () => {
    await using federation = await startTestFederation({
      brokers: 2,
      scopes: { pub: ['#'], sub: ['allowed/#'] },
      broker: { declaredTopics: ['allowed/#', 'secret/#'] },
    });
    const [a, b] = federation.brokers();
    await using publisher = await connectClient(a!.mqttUrl);
    await using subscriber = await connectClient(b!.mqttUrl);
    const linked = nextEvent<Ack>(b!.events, 'subscribe-ack', (e) => e.peer === a!.id);
    await subscriber.subscribe('#');
    expect(await linked).toMatchObject({ granted: ['allowed/#'], denied: [] });

    await publisher.publish('secret/plan', 'not for you');
    await publisher.publish('allowed/news', 'hello');
    const [first] = await subscriber.receivedCount(1);
    expect(first!.topic).toBe('allowed/news');
    expect(subscriber.received.map((message) => message.topic)).toEqual(['allowed/news']);
  });
});

describe('tokens on an open link', () => {
  it('refreshes expiring tokens both ways without dropping the link or a message', async () => {
    const tokenTtlMs = 3_000;
    await using federation = await startTestFederation({
      brokers: 2,
      auth: { tokenTtlMs },
      broker: { declaredTopics: ['ticks/#'] },
    });
    const [a, b] = federation.brokers();
    const closes: LinkClosed[] = [];
    for (const broker of [a!, b!]) broker.events.on('link-closed', (e) => closes.push(e));
    await using publisher = await connectClient(a!.mqttUrl);
    await using subscriber = await connectClient(b!.mqttUrl);
    const linked = nextEvent<Ack>(b!.events, 'subscribe-ack', (e) => e.peer === a!.id);
    await subscriber.subscribe('ticks/#');
    await linked;

    // Publishes on a schedule across more than two token lifetimes; each must arrive.
    const start = Date.now();
    const sent: string[] = [];
    while (Date.now() - start < 2 * tokenTtlMs + 1_000) {
      const payload = `tick ${sent.length}`;
      sent.push(payload);
      await publisher.publish('ticks/1', payload);
      await subscriber.receivedCount(sent.length, 2_000);
      await delay(200);
    }

    expect(subscriber.received.map((message) => message.payload.toString())).toEqual(sent);
    expect(closes).toEqual([]);
    expect(a!.links().map((link) => [link.peer, link.state])).toEqual([[b!.id, 'open']]);
    expect(b!.links().map((link) => [link.peer, link.state])).toEqual([[a!.id, 'open']]);
    for (const broker of [a!, b!]) {
      for (const direction of ['sent', 'received']) {
        expect(
          await metric(broker, 'mqfed_broker_token_refreshes_total', { direction }),
          `${broker.id} ${direction}`,
        ).toBeGreaterThanOrEqual(1);
      }
    }
  });

  it('closes the link of a peer that never refreshes its token with 4401 TOKEN_EXPIRED once it expires', async () => {
    await using federation = await startTestFederation({ brokers: 1, auth: { tokenTtlMs: 2_000 } });
    const broker = federation.brokers()[0]!;
    const { token } = await registerService(federation, 'stale', { pub: ['#'], sub: ['#'] });
    const expiresAt = decodeJwt(token).exp! * 1000;
    const closedHere = nextEvent<LinkClosed>(
      broker.events,
      'link-closed',
      (e) => e.peer === 'stale',
    );
    await using peer = await openRawPeer(broker.linkUrl, 'stale', token);
    // A subscription keeps the link in use, so it is not closed as idle first.
    peer.send({ type: 'subscribe', requestId: 1, filters: ['x/#'] });
    await peer.frame('ack', (frame) => frame.requestId === 1);

    const closed = await peer.closed;
    expect(closed).toMatchObject({ code: 4401, reason: 'TOKEN_EXPIRED' });
    expect(errorCatalogue.TOKEN_EXPIRED.ws).toBe(4401);
    expect(closed.at).toBeGreaterThanOrEqual(expiresAt - 20);
    expect(await closedHere).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it.each([
    { name: 'a forged token', token: 'forged', code: 'TOKEN_INVALID', ws: 4401 },
    { name: 'another broker’s token', token: 'other', code: 'IDENTITY_MISMATCH', ws: 4403 },
    { name: 'a token of role discovery', token: 'discovery', code: 'ROLE_FORBIDDEN', ws: 4403 },
  ] as const)(
    'closes the link on a TOKEN_REFRESH carrying $name with $ws $code',
    async ({ token, code, ws }) => {
      await using federation = await startTestFederation({ brokers: 1 });
      const broker = federation.brokers()[0]!;
      const scopes = { pub: ['#'], sub: ['#'] };
      const own = await registerService(federation, 'refresher', scopes);
      const fresh = {
        forged: await forge(own.token),
        other: (await registerService(federation, 'someone-else', scopes)).token,
        discovery: (await registerService(federation, 'refresher-d', scopes, 'discovery')).token,
      }[token];
      const closedHere = nextEvent<LinkClosed>(
        broker.events,
        'link-closed',
        (e) => e.peer === 'refresher',
      );
      await using peer = await openRawPeer(broker.linkUrl, 'refresher', own.token);
      peer.send({ type: 'subscribe', requestId: 1, filters: ['x/#'] });
      await peer.frame('ack', (frame) => frame.requestId === 1);

      peer.send({ type: 'tokenRefresh', token: fresh });
      expect(await peer.closed).toMatchObject({ code: ws, reason: code });
      expect(errorCatalogue[code].ws).toBe(ws);
      expect(await closedHere).toMatchObject({ code });
    },
  );
});
