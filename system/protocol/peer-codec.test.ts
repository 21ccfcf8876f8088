import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { codeOf, hex, json, publishFixture, validFrames } from './peer-codec.fixtures.ts';
import { decodeFrame, encodeFrame } from './peer-codec.ts';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_PEER_FRAME_LIMITS,
  type PeerFrame,
  peerMessageSizeLimit,
} from './peer-frames.ts';

describe('every peer-link frame survives a round trip through the codec', () => {
  it.each(validFrames)('%s', (_name, frame) => {
    const bytes = encodeFrame(frame);
    const decoded = decodeFrame(bytes);
    expect(decoded).toEqual(frame);
    expect(encodeFrame(decoded)).toEqual(bytes);
  });
});

describe('the byte layout is the documented one', () => {
  it('a PUBLISH is type, flags, seq, origin, topic and raw payload', () => {
    const frame: PeerFrame = {
      type: 'publish',
      qos: 1,
      retain: false,
      dup: false,
      origin: 'b1',
      seq: 2 ** 32 + 5,
      topic: 'a/b',
      payload: Buffer.from([0xde, 0xad]),
    };
    const bytes = hex('01 02 00000001 00000005 02 6231 0003 612f62 dead');
    expect(encodeFrame(frame)).toEqual(bytes);
    expect(decodeFrame(bytes)).toEqual(frame);
  });

  it('a retained PUBLISH has the versioned flag and its version time right after seq', () => {
    const frame: PeerFrame = {
      type: 'publish',
      qos: 1,
      retain: true,
      dup: false,
      origin: 'b1',
      seq: 2 ** 32 + 5,
      topic: 'a/b',
      payload: Buffer.from([0xde, 0xad]),
      versionTime: 0x0000_019a_0000_0001,
    };
    const bytes = hex('01 13 00000001 00000005 0000019a 00000001 02 6231 0003 612f62 dead');
    expect(encodeFrame(frame)).toEqual(bytes);
    expect(decodeFrame(bytes)).toEqual(frame);
  });

  it('refuses to encode a version time without retain, or retain without one', () => {
    const plain = publishFixture('a publish with an empty payload');
    expect(codeOf(() => encodeFrame({ ...plain, versionTime: 5 }))).toBe('FRAME_MALFORMED');
    expect(codeOf(() => encodeFrame({ ...plain, retain: true }))).toBe('FRAME_MALFORMED');
    expect(codeOf(() => encodeFrame({ ...plain, retain: true, versionTime: 2 ** 53 }))).toBe(
      'FRAME_MALFORMED',
    );
  });

  it('a control frame is its type byte followed by UTF-8 JSON', () => {
    const frame: PeerFrame = { type: 'subscribe', requestId: 7, filters: ['a/#'] };
    expect(encodeFrame(frame)).toEqual(json(0x11, { requestId: 7, filters: ['a/#'] }));
  });

  it('the message size limit fits the largest acceptable PUBLISH and control frame', () => {
    const frame: PeerFrame = {
      ...publishFixture('a publish with an empty payload'),
      retain: true,
      versionTime: 1,
      origin: 'o'.repeat(255),
      topic: 't'.repeat(65_535),
      payload: Buffer.alloc(DEFAULT_MAX_PAYLOAD_BYTES),
    };
    const limits = { maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES, maxControlBytes: 1000 };
    expect(encodeFrame(frame).length).toBe(peerMessageSizeLimit(limits));
    expect(peerMessageSizeLimit()).toBe(1 + DEFAULT_PEER_FRAME_LIMITS.maxControlBytes);
  });
});

describe('a decoded payload is a view, not a copy', () => {
  it('shares memory with the received message', () => {
    const bytes = encodeFrame(publishFixture('a publish whose payload holds all 256 byte values'));
    const decoded = decodeFrame(bytes);
    expect(decoded.type === 'publish' && decoded.payload.buffer).toBe(bytes.buffer);
  });

  it('decodes a plain Uint8Array at an offset inside a larger buffer', () => {
    const frame = publishFixture('a publish on a $ topic');
    const bytes = encodeFrame(frame);
    const backing = new Uint8Array(bytes.length + 10);
    backing.set(bytes, 5);
    expect(decodeFrame(backing.subarray(5, 5 + bytes.length))).toEqual(frame);
  });
});

describe('sizes above the limits are refused with their own codes', () => {
  const base = publishFixture('a publish with an empty payload');
  const publishOf = (size: number) => encodeFrame({ ...base, payload: Buffer.alloc(size) });

  it('a payload one byte above the default limit is PAYLOAD_TOO_LARGE', () => {
    expect(codeOf(() => decodeFrame(publishOf(DEFAULT_MAX_PAYLOAD_BYTES + 1)))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('a configured payload limit is honoured to the byte', () => {
    const limits = { ...DEFAULT_PEER_FRAME_LIMITS, maxPayloadBytes: 10 };
    expect(decodeFrame(publishOf(10), limits).type).toBe('publish');
    expect(codeOf(() => decodeFrame(publishOf(11), limits))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a control body above its limit is BODY_TOO_LARGE', () => {
    const bytes = encodeFrame({ type: 'tokenRefresh', token: 'x'.repeat(100) });
    const limits = { ...DEFAULT_PEER_FRAME_LIMITS, maxControlBytes: bytes.length - 2 };
    expect(codeOf(() => decodeFrame(bytes, limits))).toBe('BODY_TOO_LARGE');
    expect(decodeFrame(bytes, { ...limits, maxControlBytes: bytes.length - 1 }).type).toBe(
      'tokenRefresh',
    );
  });
});

describe('the encoder refuses what the decoder would refuse', () => {
  const base = publishFixture('a publish with an empty payload');
  it.each<[string, PeerFrame]>([
    ['a wildcard topic', { ...base, topic: 'a/+' }],
    ['an empty topic', { ...base, topic: '' }],
    ['a topic with a lone surrogate', { ...base, topic: 'a/\uD800' }],
    ['an empty origin', { ...base, origin: '' }],
    ['an origin of 256 bytes', { ...base, origin: 'o'.repeat(256) }],
    ['a negative seq', { ...base, seq: -1 }],
    ['a fractional seq', { ...base, seq: 1.5 }],
    ['a seq of 2^53', { ...base, seq: 2 ** 53 }],
    ['a seq of 2^53 - 1, whose PUBACK could not be written', { ...base, seq: 2 ** 53 - 1 }],
    ['qos 2', { ...base, qos: 2 as 1 }],
    ['a subscribe of an invalid filter', { type: 'subscribe', requestId: 1, filters: ['a#'] }],
    ['an error with a foreign code', { type: 'error', code: 'NOPE' as 'INTERNAL', message: '' }],
    ['a puback with a negative next', { type: 'puback', next: -1 }],
    ['a puback above 2^53 - 1', { type: 'puback', next: 2 ** 53 }],
  ])('%s', (_name, frame) => {
    expect(codeOf(() => encodeFrame(frame))).toBe('FRAME_MALFORMED');
  });

  it('refuses a frame type it does not know', () => {
    const frame = { type: 'pubrec' } as unknown as PeerFrame;
    expect(codeOf(() => encodeFrame(frame))).toBe('FRAME_UNKNOWN_TYPE');
  });
});
