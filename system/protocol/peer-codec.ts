import { Buffer, isUtf8 } from 'node:buffer';
import { MqfedError } from './errors.ts';
import {
  type ControlFrame,
  type ControlFrameType,
  controlBodySchemas,
  DEFAULT_PEER_FRAME_LIMITS,
  FRAME_TYPE_CODES,
  MAX_ORIGIN_BYTES,
  type PeerFrame,
  type PeerFrameLimits,
  PUBACK_BYTES,
  PUBLISH_FIXED_BYTES,
  PUBLISH_VERSION_BYTES,
  type PubackFrame,
  type PublishFrame,
} from './peer-frames.ts';
import { isValidTopicName } from './topic-filter.ts';
import { describeIssues } from './validate.ts';

/**
 * The one codec of peer-link frames (byte layout: docs/protocol.md, Peer links). Decoding trusts
 * nothing: any input either yields a valid frame or throws an MqfedError (FRAME_MALFORMED,
 * FRAME_UNKNOWN_TYPE, PAYLOAD_TOO_LARGE or BODY_TOO_LARGE), never anything else. Encoding refuses
 * what decoding would refuse, so a sender never puts a frame on the wire its peer must reject
 * (apart from the peer's own size limits, which it announces in HELLO). [design]
 */

// PUBLISH flag bits mirror the low nibble of an MQTT PUBLISH fixed header. [design]
const RETAIN = 0b0001;
const QOS_SHIFT = 1;
const DUP = 0b1000;
// mqfed.v3: an 8-byte version time follows `seq`; set on every retained publish and only there.
const VERSIONED = 0b1_0000;
const RESERVED_FLAGS = 0b1110_0000;

const TWO_POW_32 = 2 ** 32;
// The largest high word of a sequence number that keeps it at or below 2^53 - 1.
const MAX_SEQ_HIGH = 2 ** 21 - 1;
// A PUBLISH may not use the last number: the PUBACK acknowledging it says `next = seq + 1`, which
// must itself be a number of the wire format. [design]
const MAX_PUBLISH_SEQ = Number.MAX_SAFE_INTEGER - 1;

const CONTROL_TYPE_BY_CODE = new Map<number, ControlFrameType>(
  (Object.keys(controlBodySchemas) as ControlFrameType[]).map((type) => [
    FRAME_TYPE_CODES[type],
    type,
  ]),
);

function malformed(message: string): never {
  throw new MqfedError('FRAME_MALFORMED', message);
}

/** Encodes one frame as the bytes of one binary WebSocket message. */
export function encodeFrame(frame: PeerFrame): Buffer {
  if (frame.type === 'publish') return encodePublish(frame);
  if (frame.type === 'puback') return encodePuback(frame);
  if (!Object.hasOwn(controlBodySchemas, frame.type)) {
    throw new MqfedError('FRAME_UNKNOWN_TYPE', `cannot encode frame type ${String(frame.type)}`);
  }
  return encodeControl(frame);
}

function encodePublish(frame: PublishFrame): Buffer {
  const { qos, origin, seq, topic, payload, versionTime } = frame;
  if (qos !== 0 && qos !== 1) malformed('publish: qos must be 0 or 1');
  if (!Number.isSafeInteger(seq) || seq < 0 || seq > MAX_PUBLISH_SEQ) {
    malformed('publish: seq must be in 0..2^53-2');
  }
  if (frame.retain !== (versionTime !== undefined)) {
    malformed('publish: a version time goes with retain, and only with it');
  }
  if (versionTime !== undefined && (!Number.isSafeInteger(versionTime) || versionTime < 0)) {
    malformed('publish: version time must be in 0..2^53-1');
  }
  // Lone surrogates would silently become U+FFFD in UTF-8 and the peer would see another string.
  if (!origin.isWellFormed() || !topic.isWellFormed()) malformed('publish: lone surrogate');
  if (!isValidTopicName(topic)) malformed('publish: topic is not a valid MQTT topic name');
  const originBytes = Buffer.byteLength(origin, 'utf8');
  if (originBytes === 0 || originBytes > MAX_ORIGIN_BYTES) malformed('publish: origin length');
  const topicBytes = Buffer.byteLength(topic, 'utf8');

  const versionBytes = versionTime === undefined ? 0 : PUBLISH_VERSION_BYTES;

  // One allocation of the exact size; every byte is written below, so unsafe is fine. [design]
  const out = Buffer.allocUnsafe(
    PUBLISH_FIXED_BYTES + versionBytes + originBytes + topicBytes + payload.byteLength,
  );
  out[0] = FRAME_TYPE_CODES.publish;
  out[1] =
    (frame.retain ? RETAIN : 0) |
    (qos << QOS_SHIFT) |
    (frame.dup ? DUP : 0) |
    (versionTime === undefined ? 0 : VERSIONED);
  writeSeq(out, 2, seq);
  if (versionTime !== undefined) writeSeq(out, 10, versionTime);
  const originAt = 10 + versionBytes;
  out[originAt] = originBytes;
  let offset = originAt + 1 + out.write(origin, originAt + 1, 'utf8');
  offset = out.writeUInt16BE(topicBytes, offset);
  offset += out.write(topic, offset, 'utf8');
  out.set(payload, offset);
  return out;
}

function encodePuback(frame: PubackFrame): Buffer {
  if (!Number.isSafeInteger(frame.next) || frame.next < 0) malformed('puback: next out of range');
  const out = Buffer.allocUnsafe(PUBACK_BYTES);
  out[0] = FRAME_TYPE_CODES.puback;
  writeSeq(out, 1, frame.next);
  return out;
}

/** Sequence numbers are eight bytes big-endian on the wire, at most 2^53 - 1. */
function writeSeq(out: Buffer, offset: number, value: number): void {
  out.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  out.writeUInt32BE(value >>> 0, offset + 4);
}

function readSeq(buf: Buffer, offset: number, what: string): number {
  const high = buf.readUInt32BE(offset);
  if (high > MAX_SEQ_HIGH) malformed(`${what} above 2^53-1`);
  return high * TWO_POW_32 + buf.readUInt32BE(offset + 4);
}

function encodeControl(frame: ControlFrame): Buffer {
  // The schema drops `type` and any stray field, and checks what the decoder will check.
  const result = controlBodySchemas[frame.type].safeParse(frame);
  if (!result.success) malformed(`${frame.type}: ${describeIssues(result.error.issues)}`);
  // JSON.stringify escapes lone surrogates, so the UTF-8 below is lossless.
  const json = JSON.stringify(result.data);
  const out = Buffer.allocUnsafe(1 + Buffer.byteLength(json, 'utf8'));
  out[0] = FRAME_TYPE_CODES[frame.type];
  out.write(json, 1, 'utf8');
  return out;
}

/**
 * Decodes the bytes of one binary WebSocket message. The payload of a decoded PUBLISH is a view
 * into `bytes` (no copy, for speed): copy it if you keep it after `bytes` may be reused. [design]
 */
export function decodeFrame(
  bytes: Uint8Array,
  limits: PeerFrameLimits = DEFAULT_PEER_FRAME_LIMITS,
): PeerFrame {
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) malformed('empty message');
  const code = buf[0]!;
  if (code === FRAME_TYPE_CODES.publish) return decodePublish(buf, limits);
  if (code === FRAME_TYPE_CODES.puback) {
    if (buf.length !== PUBACK_BYTES) malformed('puback: expected 9 bytes');
    return { type: 'puback', next: readSeq(buf, 1, 'puback: next') };
  }
  const type = CONTROL_TYPE_BY_CODE.get(code);
  if (type === undefined) {
    throw new MqfedError('FRAME_UNKNOWN_TYPE', `unknown frame type 0x${code.toString(16)}`);
  }
  return decodeControl(type, buf, limits);
}

/**
 * Checks in a fixed order, cheapest first: structure (flags, lengths), then the payload limit,
 * then content (UTF-8 and topic rules), so an oversized message costs no text decoding.
 */
function decodePublish(buf: Buffer, limits: PeerFrameLimits): PublishFrame {
  if (buf.length < PUBLISH_FIXED_BYTES) malformed('publish: truncated header');
  const flags = buf[1]!;
  if ((flags & RESERVED_FLAGS) !== 0) malformed('publish: reserved flag bits set');
  const qosBits = (flags >> QOS_SHIFT) & 0b11;
  if (qosBits > 1) malformed('publish: qos must be 0 or 1');
  const qos = qosBits === 0 ? 0 : 1;
  const seq = readSeq(buf, 2, 'publish: seq');
  if (seq > MAX_PUBLISH_SEQ) malformed('publish: seq above 2^53-2');
  const retain = (flags & RETAIN) !== 0;
  const versioned = (flags & VERSIONED) !== 0;
  if (retain !== versioned) malformed('publish: a version time goes with retain, and only with it');
  const originLengthAt = versioned ? 10 + PUBLISH_VERSION_BYTES : 10;
  if (buf.length < PUBLISH_FIXED_BYTES + (originLengthAt - 10)) {
    malformed('publish: truncated header');
  }
  const versionTime = versioned ? readSeq(buf, 10, 'publish: version time') : undefined;
  const originBytes = buf[originLengthAt]!;
  if (originBytes === 0) malformed('publish: empty origin');
  const originAt = originLengthAt + 1;
  const topicLengthAt = originAt + originBytes;
  if (buf.length < topicLengthAt + 2) malformed('publish: truncated origin');
  const topicBytes = buf.readUInt16BE(topicLengthAt);
  if (topicBytes === 0) malformed('publish: empty topic');
  const topicAt = topicLengthAt + 2;
  const payloadAt = topicAt + topicBytes;
  if (buf.length < payloadAt) malformed('publish: truncated topic');
  const payloadBytes = buf.length - payloadAt;
  if (payloadBytes > limits.maxPayloadBytes) {
    throw new MqfedError(
      'PAYLOAD_TOO_LARGE',
      `payload of ${payloadBytes} bytes exceeds ${limits.maxPayloadBytes}`,
    );
  }
  const origin = readUtf8(buf, originAt, topicLengthAt, 'publish: origin');
  const topic = readUtf8(buf, topicAt, payloadAt, 'publish: topic');
  if (!isValidTopicName(topic)) malformed('publish: topic is not a valid MQTT topic name');
  const frame: PublishFrame = {
    type: 'publish',
    qos,
    retain,
    dup: (flags & DUP) !== 0,
    origin,
    seq,
    topic,
    payload: buf.subarray(payloadAt),
  };
  if (versionTime !== undefined) frame.versionTime = versionTime;
  return frame;
}

function decodeControl(type: ControlFrameType, buf: Buffer, limits: PeerFrameLimits): PeerFrame {
  const bodyBytes = buf.length - 1;
  if (bodyBytes > limits.maxControlBytes) {
    throw new MqfedError(
      'BODY_TOO_LARGE',
      `${type} body of ${bodyBytes} bytes exceeds ${limits.maxControlBytes}`,
    );
  }
  const text = readUtf8(buf, 1, buf.length, `${type}: body`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    malformed(`${type}: body is not JSON`);
  }
  const result = controlBodySchemas[type].safeParse(json);
  if (!result.success) malformed(`${type}: ${describeIssues(result.error.issues)}`);
  return { type, ...result.data } as ControlFrame;
}

/**
 * Strict UTF-8 (no overlong forms, no surrogates, no truncated sequences). Buffer#toString is
 * used rather than TextDecoder because it keeps a leading U+FEFF, which MQTT treats as part of
 * the topic.
 */
function readUtf8(buf: Buffer, start: number, end: number, what: string): string {
  if (!isUtf8(buf.subarray(start, end))) malformed(`${what} is not valid UTF-8`);
  return buf.toString('utf8', start, end);
}
