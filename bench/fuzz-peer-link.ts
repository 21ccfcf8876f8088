import { setTimeout as sleep } from 'node:timers/promises';
import type WebSocket from 'ws';
import {
  brokerTarget,
  encodeFrame,
  FRAME_TYPE_CODES,
  PEER_LINK_SUBPROTOCOL,
} from '../system/protocol/index.ts';
import type { Budget } from './fuzz-budget.ts';
import { startLocalPublisher } from './fuzz-local-publisher.ts';
import {
  closingFrame,
  helloFrame,
  newStreamId,
  type PeerLane,
  type PeerMessage,
  structuredFrame,
} from './fuzz-peer-frames.ts';
import { rawRequest, sendAndDrain, tallyClose, upgrade } from './fuzz-sockets.ts';
import { FuzzSource, laneSeed } from './fuzz-source.ts';
import { excerpt, type Tally } from './fuzz-tally.ts';
import { BROKER_ID, type FuzzReady } from './fuzz-wire.ts';

/** Frames written before waiting for the socket to take them. */
const PACE_EVERY = 32;
/** After a frame that may still be valid, this unknown type makes sure the link closes. */
const SENTINEL = Buffer.from([0xff]);

/**
 * Fuzzes the peer link of broker b1 (`GET /peer`, subprotocol mqfed.v2), one lane per registered
 * fuzzing peer, all at once. Each session: sometimes a refused upgrade first (no token, a forged
 * one, one for another audience, a wrong subprotocol or path, raw garbage), then a valid upgrade,
 * HELLO, structured frames, and most often a closing frame; the close code is counted. [design]
 * The broker may refuse a dial while it still tears down the lane's previous link (LINK_EXISTS):
 * that is counted as a status, and the lane dials again.
 */
export async function fuzzPeerLink(
  services: FuzzReady,
  budget: Budget,
  seed: number,
  tally: Tally,
): Promise<void> {
  const peers = services.identities.peers;
  const target = brokerTarget(BROKER_ID);
  const publisher = await startLocalPublisher(services.mqttUrl);
  try {
    await lanes();
  } finally {
    await publisher.stop();
    tally.note('local publishes', publisher.published);
    if (publisher.off !== undefined) tally.note('local publisher off', publisher.off);
  }
  async function lanes() {
    await Promise.all(
      peers.map(async (identity, index) => {
        const source = new FuzzSource(laneSeed(seed, 'peer', index));
        const other = peers[(index + 1) % peers.length]!;
        const lane: PeerLane = {
          id: identity.id,
          token: identity.tokens[target]!,
          otherToken: other.tokens[target]!,
          stream: newStreamId(source),
          seq: 0,
          requestId: 0,
          received: 0,
        };
        const wrongAudience = identity.tokens.discovery!;
        while (budget.take(1)) {
          if (source.chance(0.03))
            await badUpgrade(services.linkUrl, lane, wrongAudience, source, tally);
          else await session(services.linkUrl, lane, source, budget, tally);
        }
      }),
    );
  }
}

async function session(
  url: string,
  lane: PeerLane,
  source: FuzzSource,
  budget: Budget,
  tally: Tally,
): Promise<void> {
  const opened = await upgrade(url, [PEER_LINK_SUBPROTOCOL], {
    authorization: `Bearer ${lane.token}`,
  });
  tally.sent('upgrade');
  if (!('ws' in opened)) {
    tally.status(opened.status, () => ({
      what: 'valid peer upgrade',
      input: lane.id,
      answer: `${opened.status} ${opened.body}`,
    }));
    // LINK_EXISTS while the previous link winds down: give it a moment.
    await sleep(5);
    return;
  }
  tally.status(101, () => ({ what: '', input: '', answer: '' }));
  const { ws, closed } = opened;
  ws.on('error', () => {});
  ws.on('message', (data: Buffer, isBinary) => {
    // The broker's PUBLISH frames: note how far its stream got, for the PUBACKs that say so.
    if (isBinary && data.length >= 10 && data[0] === FRAME_TYPE_CODES.publish) {
      const seq = data.readUInt32BE(2) * 2 ** 32 + data.readUInt32BE(6);
      lane.received = Math.max(lane.received, seq + 1);
    }
  });
  const send = (message: PeerMessage, index: number) => {
    const drain = index % PACE_EVERY === PACE_EVERY - 1;
    if (message instanceof Uint8Array) {
      if (drain) return sendAndDrain(ws, message, true);
      if (ws.readyState === ws.OPEN) ws.send(message, { binary: true });
    } else {
      if (drain) return sendAndDrain(ws, message.text as string, false);
      if (ws.readyState === ws.OPEN) ws.send(message.text, { binary: false });
    }
    return undefined;
  };

  let serverClosed = false;
  void closed.then(() => {
    serverClosed = true;
  });
  const hello = helloFrame(lane);
  await send(hello.message, 0);
  tally.sent(hello.kind);
  // Where the broker's stream resumes: without it the broker never streams, and a random
  // PUBACK in its place would reset the stream (STREAM_RESET) at once.
  await send(encodeFrame({ type: 'puback', next: 0 }), 0);
  tally.sent('puback-resume');
  const length = 1 + source.int(400);
  let last = '';
  for (let i = 1; i <= length && !serverClosed; i++) {
    if (!budget.take(1)) break;
    const frame = structuredFrame(lane, source);
    last = frame.kind;
    tally.sent(frame.kind);
    await send(frame.message, i);
  }
  let expectClose = serverClosed;
  if (!serverClosed && source.chance(0.8) && budget.take(1)) {
    const frame = closingFrame(lane, source);
    tally.sent(frame.kind);
    await send(frame.message, PACE_EVERY - 1);
    last = `${frame.kind} ${excerpt(frame.message instanceof Uint8Array ? frame.message : String(frame.message.text))}`;
    // A mutation may have produced a valid frame: this one cannot be.
    await send(SENTINEL, PACE_EVERY - 1);
    tally.sent('sentinel');
    expectClose = true;
  } else if (!serverClosed && source.chance(0.2) && budget.take(1)) {
    expectClose = await dialAgain(url, lane, tally);
    last = 'a second dial of the same peer';
    if (!expectClose) ws.close(1000);
  } else if (!serverClosed) {
    ws.close(1000);
  }
  await finish(ws, closed, expectClose, last, tally);
}

/**
 * The same peer dials again while its link is up. The broker must take the new connection and
 * close the old one (LINK_EXISTS); true when it took the new one.
 */
async function dialAgain(url: string, lane: PeerLane, tally: Tally): Promise<boolean> {
  const again = await upgrade(url, [PEER_LINK_SUBPROTOCOL], {
    authorization: `Bearer ${lane.token}`,
  });
  tally.sent('upgrade-second-dial');
  if (!('ws' in again)) {
    tally.status(again.status, () => ({
      what: 'second dial',
      input: lane.id,
      answer: `${again.status} ${again.body}`,
    }));
    return false;
  }
  tally.status(101, () => ({ what: '', input: '', answer: '' }));
  again.ws.on('error', () => {});
  const hello = helloFrame(lane);
  again.ws.send(hello.message);
  tally.sent(hello.kind);
  again.ws.close(1000);
  await finish(again.ws, again.closed, false, 'second dial', tally);
  return true;
}

async function finish(
  ws: WebSocket,
  closed: Promise<{ code: number; reason: string }>,
  expectClose: boolean,
  last: string,
  tally: Tally,
): Promise<void> {
  await tallyClose(
    ws,
    closed,
    {
      what: expectClose ? 'the broker did not close the link after a bad frame' : 'no close',
      input: last,
    },
    tally,
  );
}

/** An upgrade the broker must refuse with a 4xx answer. */
async function badUpgrade(
  url: string,
  lane: PeerLane,
  wrongAudience: string,
  source: FuzzSource,
  tally: Tally,
): Promise<void> {
  const kind = source.pick([
    'no-token',
    'forged-token',
    'wrong-audience',
    'wrong-subprotocol',
    'no-subprotocol',
    'wrong-path',
    'odd-authorization',
    'raw-garbage',
  ] as const);
  tally.sent(`upgrade-${kind}`);
  if (kind === 'raw-garbage') {
    const bytes = source.mutate(
      Buffer.from(
        `GET /peer HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
          `Sec-WebSocket-Protocol: ${PEER_LINK_SUBPROTOCOL}\r\nAuthorization: Bearer ${lane.token}\r\n\r\n`,
      ),
    );
    const status = await rawRequest(url.replace(/^ws/, 'http'), bytes);
    if (status === -1) {
      tally.anomaly({ what: 'raw upgrade request hung', input: excerpt(bytes), answer: '' });
      return;
    }
    tally.status(status, () => ({
      what: 'raw upgrade',
      input: excerpt(bytes),
      answer: String(status),
    }));
    return;
  }
  const headers: Record<string, string> = {};
  let protocols = [PEER_LINK_SUBPROTOCOL];
  let at = url;
  if (kind === 'forged-token')
    headers.authorization = `Bearer ${source.bytes(30).toString('base64url')}.e30.sig`;
  else if (kind === 'wrong-audience') headers.authorization = `Bearer ${wrongAudience}`;
  else if (kind === 'odd-authorization') {
    headers.authorization = source.pick([
      'Bearer',
      `Basic ${lane.token}`,
      `Bearer ${lane.token} ${lane.token}`,
      `Bearer ${'A'.repeat(12_000)}`,
      `bearer\t${lane.token.slice(0, -2)}`,
    ]);
  } else if (kind !== 'no-token') headers.authorization = `Bearer ${lane.token}`;
  if (kind === 'wrong-subprotocol') protocols = [source.pick(['mqfed.v1', 'mqfed.v3', 'mqtt'])];
  if (kind === 'no-subprotocol') protocols = [];
  if (kind === 'wrong-path') at = `${url}${source.pick(['/', 'x', '/../admin', '/%zz', '%00'])}`;
  const answer = await upgrade(at, protocols, headers);
  if ('ws' in answer) {
    tally.anomaly({ what: `upgrade ${kind} was accepted`, input: at, answer: '101' });
    answer.ws.terminate();
    await answer.closed;
    return;
  }
  tally.status(answer.status, () => ({
    what: `upgrade ${kind}`,
    input: `${at} ${JSON.stringify(headers).slice(0, 200)} ${protocols.join(',')}`,
    answer: `${answer.status} ${answer.body.slice(0, 200)}`,
  }));
}
