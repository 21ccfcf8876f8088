import fc from 'fast-check';
import {
  encodeFrame,
  FRAME_TYPE_CODES,
  MAX_FILTERS_PER_FRAME,
  type PeerFrame,
} from '../system/protocol/index.ts';
import { LOCAL_TOPIC_PREFIX } from './fuzz-local-publisher.ts';
import type { FuzzSource } from './fuzz-source.ts';
import { oddTopics, topicFilters, topicNames } from './fuzz-topics.ts';
import { PEER_IDS } from './fuzz-wire.ts';

/**
 * Peer-link frames as a fuzzing peer sends them (frame layout: docs/protocol.md, Peer links).
 * [design] Two kinds. Structured frames are what a peer may send and the broker must take without
 * closing the link, with fields pushed to their edges: sequence numbers repeated, jumping, near
 * 2^53; PUBACKs naming anything; subscriptions of odd filters; errors and ACKs nobody asked for.
 * Closing frames are what the broker must refuse by closing the link with a catalogue code:
 * random bytes, mutations and truncations of valid frames, wrong JSON types, unknown frame types,
 * text messages, a wrong identity. A session sends many structured frames, then maybe one closing
 * frame, so links live long enough for state to build up and the run still gets through 10^6
 * frames.
 */

/** A binary message, or a text message (a string, or raw bytes that may not be UTF-8). */
export type PeerMessage = Uint8Array | { text: string | Buffer };

export interface PeerFuzzFrame {
  kind: string;
  message: PeerMessage;
}

/** What a lane of the peer-link fuzzer knows of its own link. */
export interface PeerLane {
  /** The registered broker id the lane speaks for. */
  id: string;
  /** Its own valid token for the broker, and another peer's. */
  token: string;
  otherToken: string;
  stream: string;
  seq: number;
  requestId: number;
  /** One past the highest sequence number of the broker's publishes received on the link. */
  received: number;
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER - 1;
const TWO_POW_32 = 2 ** 32;

const jsonValues = fc.jsonValue({ maxDepth: 2 });
const streamIds = fc.stringMatching(/^[A-Za-z0-9_-]{16,64}$/);
const filterLists = fc.array(topicFilters, { minLength: 1, maxLength: 8 });
const errorMessages = fc.string({ maxLength: 100 });
const errorCodes = fc.constantFrom('FRAME_MALFORMED', 'SCOPE_DENIED', 'INTERNAL', 'STREAM_RESET');

/** Bodies of control frames whose fields are each either right or a JSON value of any type. */
const wrongTyped: Record<'hello' | 'subscribe' | 'tokenRefresh', fc.Arbitrary<unknown>> = {
  hello: fc.record({
    brokerId: fc.oneof(fc.constantFrom(...PEER_IDS), jsonValues),
    stream: fc.oneof(streamIds, jsonValues),
    maxPayloadBytes: fc.oneof(fc.nat(), fc.double(), jsonValues),
  }),
  subscribe: fc.record({
    requestId: fc.oneof(fc.nat(), fc.integer(), fc.double(), jsonValues),
    filters: fc.oneof(
      filterLists,
      fc.array(oddTopics, { maxLength: 4 }),
      fc.constant([]),
      jsonValues,
    ),
  }),
  tokenRefresh: fc.record({ token: fc.oneof(fc.string({ maxLength: 64 }), jsonValues) }),
};

export function newStreamId(source: FuzzSource): string {
  return source.draw(streamIds);
}

/** The HELLO that opens a session. */
export function helloFrame(lane: PeerLane): { kind: string; message: Uint8Array } {
  return {
    kind: 'hello',
    message: encodeFrame({
      type: 'hello',
      brokerId: lane.id,
      stream: lane.stream,
      maxPayloadBytes: 262_144,
    }),
  };
}

/** A publish encoded by hand, so that fields the encoder would refuse can be sent. */
export function rawPublish(
  flags: number,
  seq: number,
  origin: Uint8Array,
  topic: Uint8Array,
  payload: Uint8Array,
): Buffer {
  const out = Buffer.alloc(13 + origin.length + topic.length + payload.length);
  out[0] = FRAME_TYPE_CODES.publish;
  out[1] = flags;
  out.writeUInt32BE(Math.floor(seq / TWO_POW_32) >>> 0, 2);
  out.writeUInt32BE(seq >>> 0, 6);
  out[10] = origin.length & 0xff;
  out.set(origin, 11);
  out.writeUInt16BE(topic.length & 0xffff, 11 + origin.length);
  out.set(topic, 13 + origin.length);
  out.set(payload, 13 + origin.length + topic.length);
  return out;
}

const control = (code: number, body: string) =>
  Buffer.concat([Buffer.from([code]), Buffer.from(body)]);

function payload(source: FuzzSource): Buffer {
  return source.bytes(source.chance(0.95) ? source.int(64) : source.int(16 * 1024));
}

/**
 * Distinct topics of retained publishes. [design] A broker keeps one retained message per topic
 * for good (MQTT), so retained publishes on ever new topics would grow its store by design and
 * hide a leak in the heap figure; on a bounded set they still find what a retained message pins.
 */
const RETAINED_TOPICS = 1024;

function publish(lane: PeerLane, source: FuzzSource, seq: number): Uint8Array {
  const retain = source.chance(0.05);
  const frame: PeerFrame = {
    type: 'publish',
    qos: source.chance(0.5) ? 0 : 1,
    retain,
    dup: source.chance(0.1),
    origin: lane.id,
    seq,
    topic: retain ? `fuzz/retained/${source.int(RETAINED_TOPICS)}` : source.draw(topicNames),
    payload: payload(source),
  };
  // mqfed.v3: every retained publish carries its version time; edges (2^53 - 1 is far in the
  // future) as well as the present, so the receiver's version checks are exercised too.
  if (retain) frame.versionTime = source.chance(0.5) ? Date.now() : edgeNumber(source);
  return encodeFrame(frame);
}

/** A sequence number at an edge: zero, near 2^32, near 2^53. */
function edgeNumber(source: FuzzSource): number {
  const base = source.pick([0, TWO_POW_32, MAX_SEQ, Number.MAX_SAFE_INTEGER]);
  return Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, base - source.int(4)));
}

/** One frame a peer may send: the broker must take it without closing the link. */
export function structuredFrame(lane: PeerLane, source: FuzzSource): PeerFuzzFrame {
  const kind = source.weighted([
    [60, 'publish'],
    [4, 'publish-duplicate'],
    [1, 'publish-seq-jump'],
    [8, 'puback'],
    [6, 'subscribe'],
    [4, 'unsubscribe'],
    [2, 'ack'],
    [2, 'error'],
    [1, 'hello-again'],
    [0.3, 'token-refresh'],
  ] as const);
  switch (kind) {
    case 'publish':
      if (lane.seq > MAX_SEQ) lane.seq = 0;
      return { kind, message: publish(lane, source, lane.seq++) };
    case 'publish-duplicate':
      return { kind, message: publish(lane, source, source.int(Math.min(lane.seq, MAX_SEQ) + 1)) };
    case 'publish-seq-jump':
      lane.seq = Math.max(lane.seq, edgeNumber(source));
      if (lane.seq > MAX_SEQ) lane.seq = MAX_SEQ;
      return { kind, message: publish(lane, source, lane.seq++) };
    case 'puback':
      // Half acknowledge what came, as a peer does, so the broker's outbox for us drains; the
      // rest name anything.
      return {
        kind,
        message: encodeFrame({
          type: 'puback',
          next: source.chance(0.5)
            ? lane.received
            : source.chance(0.5)
              ? source.int(1000)
              : edgeNumber(source),
        }),
      };
    case 'subscribe':
    case 'unsubscribe':
      lane.requestId = (lane.requestId + 1) % 0x1_0000_0000;
      return {
        kind,
        message: encodeFrame({
          type: kind,
          requestId: lane.requestId,
          filters: [
            ...source.draw(filterLists),
            // What the local publisher publishes: the broker then has publishes for this peer.
            ...(source.chance(0.3) ? [`${LOCAL_TOPIC_PREFIX}${source.pick(['#', '+', '7'])}`] : []),
          ].slice(0, MAX_FILTERS_PER_FRAME),
        }),
      };
    case 'ack':
      return {
        kind,
        message: encodeFrame({
          type: 'ack',
          requestId: source.int(0x1_0000_0000),
          results: [{ filter: source.draw(topicFilters), granted: true }],
        }),
      };
    case 'error':
      return {
        kind,
        message: encodeFrame({
          type: 'error',
          code: source.draw(errorCodes) as 'INTERNAL',
          message: source.draw(errorMessages),
          ...(source.chance(0.5) ? { requestId: source.int(0x1_0000_0000) } : {}),
        }),
      };
    case 'hello-again':
      // A new stream id makes the broker forget what it knew of the old one.
      if (source.chance(0.5)) {
        lane.stream = newStreamId(source);
        lane.seq = 0;
      }
      return { kind, message: helloFrame(lane).message };
    case 'token-refresh':
      return { kind, message: encodeFrame({ type: 'tokenRefresh', token: lane.token }) };
  }
}

/** One frame the broker must answer by closing the link. */
export function closingFrame(lane: PeerLane, source: FuzzSource): PeerFuzzFrame {
  const kind = source.weighted([
    [6, 'random-bytes'],
    [6, 'mutated'],
    [4, 'truncated'],
    [3, 'unknown-type'],
    [3, 'wrong-types'],
    [2, 'odd-topic'],
    [2, 'seq-over-2^53'],
    [2, 'bad-flags'],
    [2, 'origin-mismatch'],
    [2, 'text'],
    [1, 'text-not-utf8'],
    [1, 'hello-other-id'],
    [1, 'token-of-other-peer'],
    [1, 'token-garbage'],
    [0.2, 'payload-too-large'],
    [0.1, 'control-too-large'],
  ] as const);
  const id = Buffer.from(lane.id);
  switch (kind) {
    case 'random-bytes': {
      const bytes = source.bytes(1 + source.int(200));
      // Half start with a known type byte, so they reach the body parsers.
      if (source.chance(0.5)) bytes[0] = source.pick(Object.values(FRAME_TYPE_CODES));
      return { kind, message: bytes };
    }
    case 'mutated':
      return { kind, message: source.mutate(structuredFrame(lane, source).message as Uint8Array) };
    case 'truncated': {
      const whole = structuredFrame(lane, source).message as Uint8Array;
      return { kind, message: whole.subarray(0, source.int(whole.length)) };
    }
    case 'unknown-type':
      return {
        kind,
        message: control(0x03 + source.int(13) + (source.chance(0.5) ? 0x16 : 0), '{}'),
      };
    case 'wrong-types': {
      const which = source.pick(['hello', 'subscribe', 'tokenRefresh'] as const);
      const body = source.draw(wrongTyped[which]);
      return { kind, message: control(FRAME_TYPE_CODES[which], JSON.stringify(body)) };
    }
    case 'odd-topic':
      return {
        kind,
        message: rawPublish(0, lane.seq, id, Buffer.from(source.draw(oddTopics)), payload(source)),
      };
    case 'seq-over-2^53':
      return {
        kind,
        message: rawPublish(
          0,
          MAX_SEQ + 1 + source.int(2),
          id,
          Buffer.from('a/b'),
          Buffer.alloc(0),
        ),
      };
    case 'bad-flags':
      return {
        kind,
        message: rawPublish(
          0b0110 | (source.int(16) << 4),
          0,
          id,
          Buffer.from('a'),
          Buffer.alloc(1),
        ),
      };
    case 'origin-mismatch':
      return {
        kind,
        message: rawPublish(
          0,
          lane.seq,
          Buffer.from('someone-else'),
          Buffer.from('a'),
          Buffer.alloc(1),
        ),
      };
    case 'text':
      return {
        kind,
        message: { text: JSON.stringify({ type: 'subscribe', requestId: 1, filters: ['#'] }) },
      };
    case 'text-not-utf8':
      return { kind, message: { text: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) } };
    case 'hello-other-id':
      return {
        kind,
        message: encodeFrame({
          type: 'hello',
          brokerId: 'fuzz-impostor',
          stream: lane.stream,
          maxPayloadBytes: 1,
        }),
      };
    case 'token-of-other-peer':
      return { kind, message: encodeFrame({ type: 'tokenRefresh', token: lane.otherToken }) };
    case 'token-garbage':
      return {
        kind,
        message: encodeFrame({
          type: 'tokenRefresh',
          token: `${source.bytes(24).toString('base64url')}.x.y`,
        }),
      };
    case 'payload-too-large':
      return {
        kind,
        message: rawPublish(0, lane.seq, id, Buffer.from('big'), Buffer.alloc(262_145)),
      };
    case 'control-too-large':
      return {
        kind,
        message: control(
          FRAME_TYPE_CODES.error,
          `{"code":"INTERNAL","message":"${'x'.repeat(1_048_600)}"}`,
        ),
      };
  }
}
