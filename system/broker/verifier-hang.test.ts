import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAuthClient, createTokenVerifier, type TokenVerifier } from '../auth/index.ts';
import {
  audienceFor,
  brokerTarget,
  encodeFrame,
  PEER_LINK_SUBPROTOCOL,
  type PeerFrame,
} from '../protocol/index.ts';
import { startTestFederation } from './broker.fixtures.ts';

const PAYLOAD_BYTES = 48 * 1024;
const FLOOD_FRAMES = 2_500;

/**
 * Issue 12, item 5: "frames queued while a token verifies are bounded: stop reading, don't
 * buffer". A peer sends a TOKEN_REFRESH whose verification never ends (a hung auth service, a
 * verifier stuck on a key fetch) and keeps sending. The receiving broker must stop reading its
 * socket, so the flood stays in the peer's own buffers, and the link waits without growing.
 */
describe('a peer token whose verification hangs cannot make the receiving broker buffer', () => {
  it('reading stops while the verifier hangs, so the flood stays with the sender, and resumes when it answers', async () => {
    await using federation = await startTestFederation({ brokers: [] });
    // The upgrade is verified normally; from `hang` on, verifications wait for `release`.
    let hang = false;
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let hungVerifications = 0;
    const inner = createTokenVerifier({
      jwksUrl: federation.auth.jwksUrl,
      issuer: federation.auth.issuer,
      audience: audienceFor(federation.auth.audience, brokerTarget('b1')),
    });
    const verifier: TokenVerifier = {
      async verify(token, ...rest) {
        if (hang) {
          hungVerifications++;
          await released;
        }
        return inner.verify(token, ...rest);
      },
    };
    // A link with no subscription would be closed as idle before the flood is over.
    const b1 = await federation.startBroker('b1', {
      verifier,
      linkIdleGraceMs: 120_000,
      peerVerifyDeadlineMs: 120_000,
    });

    const auth = createAuthClient({ url: federation.auth.url });
    const credentials = await auth.registerService(federation.auth.adminCredential, {
      id: 'p1',
      role: 'broker',
      topics: { pub: ['flood/#'], sub: [] },
    });
    const token = (await auth.issueToken(credentials, 'broker:b1')).token;
    const ws = new WebSocket(b1.linkUrl, PEER_LINK_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    });
    const closed = once(ws, 'close');
    await once(ws, 'open');
    const send = (frame: PeerFrame) => ws.send(encodeFrame(frame), { binary: true });
    send({ type: 'hello', brokerId: 'p1', stream: 'hang-test-stream-0123456', maxPayloadBytes: 0 });
    send({ type: 'puback', next: 0 });

    hang = true;
    send({ type: 'tokenRefresh', token });
    const payload = new Uint8Array(PAYLOAD_BYTES);
    for (let seq = 1; seq <= FLOOD_FRAMES; seq++) {
      send({
        type: 'publish',
        qos: 0,
        retain: false,
        dup: false,
        origin: 'p1',
        seq,
        topic: 'flood/x',
        payload,
      });
    }
    const floodBytes = FLOOD_FRAMES * PAYLOAD_BYTES;

    // Wait until nothing more leaves the sender: the receiver has stopped reading.
    let previous = -1;
    await expect
      .poll(
        () => {
          const now = ws.bufferedAmount;
          const settled = now === previous;
          previous = now;
          return settled;
        },
        { interval: 300, timeout: 20_000 },
      )
      .toBe(true);
    expect(hungVerifications).toBeGreaterThanOrEqual(1);
    // What left the sender is at most what the kernel buffers of one loopback connection hold
    // (here up to 32 MiB to receive and 4 MiB to send) plus a few frames ws read before the
    // pause; the rest, most of the 117 MiB, waits in the sender, not in the receiving broker.
    const delivered = floodBytes - ws.bufferedAmount;
    expect(delivered).toBeLessThan(48 * 1024 * 1024);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(b1.links()).toMatchObject([{ peer: 'p1' }]);

    // The verifier answers: reading resumes and the whole flood is taken in.
    release();
    await expect.poll(() => ws.bufferedAmount, { interval: 100, timeout: 30_000 }).toBe(0);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.terminate();
    await closed;
  }, 90_000);

  it('a verification that never ends closes the link at the deadline, with KEYS_UNAVAILABLE', async () => {
    await using federation = await startTestFederation({ brokers: [] });
    let hang = false;
    const inner = createTokenVerifier({
      jwksUrl: federation.auth.jwksUrl,
      issuer: federation.auth.issuer,
      audience: audienceFor(federation.auth.audience, brokerTarget('b1')),
    });
    const verifier: TokenVerifier = {
      verify: (token) => (hang ? new Promise(() => {}) : inner.verify(token)),
    };
    const b1 = await federation.startBroker('b1', {
      verifier,
      linkIdleGraceMs: 120_000,
      peerVerifyDeadlineMs: 500,
    });
    const auth = createAuthClient({ url: federation.auth.url });
    const credentials = await auth.registerService(federation.auth.adminCredential, {
      id: 'p2',
      role: 'broker',
      topics: { pub: ['flood/#'], sub: [] },
    });
    const token = (await auth.issueToken(credentials, 'broker:b1')).token;
    const ws = new WebSocket(b1.linkUrl, PEER_LINK_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${token}` },
    });
    const closed = once(ws, 'close');
    await once(ws, 'open');
    const send = (frame: PeerFrame) => ws.send(encodeFrame(frame), { binary: true });
    send({
      type: 'hello',
      brokerId: 'p2',
      stream: 'deadline-test-stream-0123',
      maxPayloadBytes: 0,
    });
    send({ type: 'puback', next: 0 });
    hang = true;
    const sentAt = Date.now();
    send({ type: 'tokenRefresh', token });
    const [code, reason] = (await closed) as [number, Buffer];
    expect([code, reason.toString()]).toEqual([1013, 'KEYS_UNAVAILABLE']);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(450);
  }, 30_000);
});
