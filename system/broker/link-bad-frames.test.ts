import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAuthClient } from '../auth/index.ts';
import {
  DEFAULT_MAX_CONTROL_BYTES,
  type ErrorCode,
  encodeFrame,
  errorCatalogue,
  FRAME_TYPE_CODES,
  PEER_LINK_SUBPROTOCOL,
  type PeerFrame,
} from '../protocol/index.ts';
import {
  type Ack,
  connectClient,
  type LinkClosed,
  nextEvent,
  startTestFederation,
  type TestClient,
  type TestFederation,
} from './broker.fixtures.ts';
import type { BrokerService } from './broker-service.ts';

const MAX_PAYLOAD_BYTES = 1024;
const ROGUE = 'rogue';

/** A binary message, or a text message given as a string or as raw (maybe not UTF-8) bytes. */
type Message = Uint8Array | string | { text: Buffer };

interface Rogue extends AsyncDisposable {
  send(message: Message): void;
  /** Closes from the rogue's side, with a close code and reason of its choosing. */
  close(code: number, reason: string): void;
  /** Settles when the socket closes, with the close code and reason the broker sent. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** A registered, authenticated peer on a plain ws WebSocket that sends whatever it is told. */
async function dialRogue(url: string, token: string): Promise<Rogue> {
  const ws = new WebSocket(url, PEER_LINK_SUBPROTOCOL, {
    headers: { authorization: `Bearer ${token}` },
    perMessageDeflate: false,
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  return {
    send(message) {
      if (typeof message === 'string') ws.send(message, { binary: false });
      else if ('text' in message) ws.send(message.text, { binary: false });
      else ws.send(message, { binary: true });
    },
    close(code, reason) {
      ws.close(code, reason);
    },
    closed,
    async [Symbol.asyncDispose]() {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
      await closed;
    },
  };
}

const frame = (value: PeerFrame) => encodeFrame(value);
const hello = () =>
  frame({
    type: 'hello',
    brokerId: ROGUE,
    stream: 'rogue-stream-0123456789',
    maxPayloadBytes: 262_144,
  });
const publish = (payload: Buffer) =>
  frame({
    type: 'publish',
    qos: 0,
    retain: false,
    dup: false,
    origin: ROGUE,
    seq: 0,
    topic: 'sensors/rogue',
    payload,
  });
const control = (type: number, body: string) =>
  Buffer.concat([Buffer.from([type]), Buffer.from(body)]);

async function metric(service: { url: string }, name: string, code: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((candidate) => candidate.startsWith(`${name}{`) && candidate.includes(`code="${code}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Each row: what the rogue peer sends after the upgrade, and how the broker must close. */
const badFrames: {
  name: string;
  messages: () => Message[];
  code: ErrorCode;
  ws: number;
}[] = [
  {
    name: 'a PUBLISH truncated inside its topic',
    messages: () => {
      const whole = publish(Buffer.from('21.5'));
      // Without its 4-byte payload and the last 3 bytes of its topic.
      return [hello(), whole.subarray(0, whole.length - 4 - 3)];
    },
    code: 'FRAME_MALFORMED',
    ws: 1007,
  },
  {
    name: 'a PUBLISH with a truncated header',
    messages: () => [hello(), publish(Buffer.alloc(0)).subarray(0, 9)],
    code: 'FRAME_MALFORMED',
    ws: 1007,
  },
  {
    name: `a PUBLISH payload one byte over the broker's maxPayloadBytes`,
    messages: () => [hello(), publish(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 7))],
    code: 'PAYLOAD_TOO_LARGE',
    ws: errorCatalogue.PAYLOAD_TOO_LARGE.ws,
  },
  {
    name: 'an unknown frame type 0x7f',
    messages: () => [hello(), control(0x7f, '{}')],
    code: 'FRAME_UNKNOWN_TYPE',
    ws: 4400,
  },
  {
    name: 'a PUBACK of the wrong length',
    messages: () => [hello(), control(FRAME_TYPE_CODES.puback, '')],
    code: 'FRAME_MALFORMED',
    ws: errorCatalogue.FRAME_MALFORMED.ws,
  },
  {
    name: 'a text message',
    messages: () => [
      hello(),
      JSON.stringify({ type: 'subscribe', requestId: 1, filters: ['sensors/#'] }),
    ],
    code: 'FRAME_MALFORMED',
    ws: 1007,
  },
  {
    name: 'a text message that is not UTF-8',
    messages: () => [hello(), { text: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) }],
    code: 'FRAME_MALFORMED',
    ws: 1007,
  },
  {
    name: 'a SUBSCRIBE as the first frame, before HELLO',
    messages: () => [frame({ type: 'subscribe', requestId: 1, filters: ['sensors/#'] })],
    code: 'FRAME_MALFORMED',
    ws: 1007,
  },
  {
    name: 'a HELLO whose body is not JSON',
    messages: () => [control(FRAME_TYPE_CODES.hello, '{"brokerId":')],
    code: 'FRAME_MALFORMED',
    ws: 1007,
  },
  {
    name: 'a control frame over the size limit',
    messages: () => [
      hello(),
      control(FRAME_TYPE_CODES.subscribe, ' '.repeat(DEFAULT_MAX_CONTROL_BYTES + 1)),
    ],
    code: 'BODY_TOO_LARGE',
    ws: 1009,
  },
];

describe('a bad frame closes only its own link', () => {
  let federation: TestFederation;
  let a: BrokerService;
  let b: BrokerService;
  let publisher: TestClient;
  let subscriber: TestClient;
  let token: string;
  /** Closes of the link between the two real brokers, seen from either end. */
  const realLinkCloses: LinkClosed[] = [];

  beforeAll(async () => {
    federation = await startTestFederation({
      brokers: 2,
      broker: { maxPayloadBytes: MAX_PAYLOAD_BYTES, declaredTopics: ['sensors/#'] },
    });
    [a, b] = federation.brokers() as [BrokerService, BrokerService];
    for (const broker of [a, b]) {
      broker.events.on('link-closed', (event) => {
        if (event.peer !== ROGUE) realLinkCloses.push(event);
      });
    }
    publisher = await connectClient(a.mqttUrl);
    subscriber = await connectClient(b.mqttUrl);
    const linked = nextEvent<Ack>(b.events, 'subscribe-ack', (e) => e.peer === a.id);
    await subscriber.subscribe('sensors/#');
    await linked;
    await publisher.publish('sensors/t1', 'before');
    await subscriber.receivedCount(1);

    const auth = createAuthClient({ url: federation.auth.url });
    const credentials = await auth.registerService(federation.auth.adminCredential, {
      id: ROGUE,
      role: 'broker',
      topics: { pub: ['#'], sub: ['#'] },
    });
    token = (await auth.issueToken(credentials, `broker:${a.id}`)).token;
  });
  afterAll(async () => {
    await publisher?.[Symbol.asyncDispose]();
    await subscriber?.[Symbol.asyncDispose]();
    await federation?.close();
  });

  it.each(badFrames)(
    '$name closes the link with $ws $code; the broker and its other link carry on',
    async ({ messages, code, ws }) => {
      const closedBefore = await metric(a, 'mqfed_broker_links_closed_total', code);
      const closedHere = nextEvent<LinkClosed>(a.events, 'link-closed', (e) => e.peer === ROGUE);
      await using rogue = await dialRogue(a.linkUrl, token);
      for (const message of messages()) rogue.send(message);

      // What the peer sees: the catalogue's close code, and the code as the reason.
      expect(await rogue.closed).toEqual({ code: ws, reason: code });
      expect(errorCatalogue[code].ws).toBe(ws);
      const closed = await closedHere;

      // The broker stays up, and the link between the two real brokers keeps delivering.
      const health = await fetch(`${a.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });
      const count = subscriber.received.length;
      await publisher.publish('sensors/t1', `after ${code}`);
      const delivered = await subscriber.receivedCount(count + 1);
      expect(delivered.at(-1)!.payload.toString()).toBe(`after ${code}`);
      expect(realLinkCloses).toEqual([]);
      expect(a.links().find((link) => link.peer === b.id)?.state).toBe('open');

      // What the broker reports: the link closed for that code, not as a dropped connection.
      expect(closed).toMatchObject({ code });
      expect(await metric(a, 'mqfed_broker_links_closed_total', code)).toBe(closedBefore + 1);
    },
  );

  it('counts a close reason the peer makes up as OTHER: a peer cannot mint metric labels', async () => {
    const invented = `invented-${Date.now()}`;
    const otherBefore = await metric(a, 'mqfed_broker_links_closed_total', 'OTHER');
    const closedHere = nextEvent<LinkClosed>(a.events, 'link-closed', (e) => e.peer === ROGUE);
    await using rogue = await dialRogue(a.linkUrl, token);
    rogue.send(hello());
    rogue.close(4000, invented);
    expect(await closedHere).toMatchObject({ code: 'OTHER' });
    expect(await metric(a, 'mqfed_broker_links_closed_total', 'OTHER')).toBe(otherBefore + 1);
    const text = await (await fetch(`${a.url}/metrics`)).text();
    expect(text).not.toContain(invented);
  });
});
