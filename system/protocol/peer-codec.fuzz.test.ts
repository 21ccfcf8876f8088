import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../common/index.ts';
import { MqfedError } from './errors.ts';
import { validFrames } from './peer-codec.fixtures.ts';
import { decodeFrame, encodeFrame } from './peer-codec.ts';
import { FRAME_TYPE_CODES, type PeerFrameLimits, type PublishFrame } from './peer-frames.ts';

/**
 * Decoding must answer any bytes with a frame or an MqfedError of a decoding code. The inputs are
 * drawn from a seeded generator, so a failure names the seed and case that reproduce it.
 */

const decodingCodes = [
  'FRAME_MALFORMED',
  'FRAME_UNKNOWN_TYPE',
  'PAYLOAD_TOO_LARGE',
  'BODY_TOO_LARGE',
];
// Small limits so that random inputs also cross them.
const limits: PeerFrameLimits = { maxPayloadBytes: 64, maxControlBytes: 256 };
const typeBytes = Object.values(FRAME_TYPE_CODES);

/** Decodes, and when that succeeds checks the frame re-encodes to something that decodes alike. */
function decodeOrRefuse(bytes: Uint8Array, label: string): 'frame' | 'refused' {
  try {
    const frame = decodeFrame(bytes, limits);
    expect(decodeFrame(encodeFrame(frame), limits), label).toEqual(frame);
    return 'frame';
  } catch (error) {
    if (!(error instanceof MqfedError) || !decodingCodes.includes(error.code)) {
      throw new Error(`${label}: decoding threw ${String(error)}`, { cause: error });
    }
    return 'refused';
  }
}

function randomBytes(next: () => number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(next() * 256);
  return bytes;
}

function mutate(next: () => number, input: Buffer): Buffer {
  let bytes = Buffer.from(input);
  const edits = 1 + Math.floor(next() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * (bytes.length + 1));
    const kind = Math.floor(next() * 5);
    if (kind === 0 && at < bytes.length) bytes[at] = Math.floor(next() * 256);
    else if (kind === 1 && at < bytes.length) bytes[at]! ^= 1 << Math.floor(next() * 8);
    else if (kind === 2) bytes = bytes.subarray(0, at);
    else if (kind === 3)
      bytes = Buffer.concat([bytes.subarray(0, at), randomBytes(next, 1), bytes.subarray(at)]);
    else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
  }
  return bytes;
}

// Fixtures small enough to mutate quickly, encoded once.
const seeds = validFrames
  .map(([, frame]) => encodeFrame(frame))
  .filter((bytes) => bytes.length <= limits.maxControlBytes);

describe('decoding any bytes yields a frame or a decoding error', () => {
  it.each([1, 2, 3])('random buffers, seed %i', (seed) => {
    const next = seededRandom(seed);
    for (let i = 0; i < 4000; i++) {
      const bytes = randomBytes(next, Math.floor(next() * 80));
      // Half of the cases start with a known type byte, so they reach the body parsers.
      if (bytes.length > 0 && next() < 0.5)
        bytes[0] = typeBytes[Math.floor(next() * typeBytes.length)]!;
      decodeOrRefuse(bytes, `seed ${seed} case ${i}`);
    }
  });

  it.each([4, 5, 6])('mutations of valid frames, seed %i', (seed) => {
    const next = seededRandom(seed);
    const outcomes = { frame: 0, refused: 0 };
    for (let i = 0; i < 4000; i++) {
      const original = seeds[Math.floor(next() * seeds.length)]!;
      outcomes[decodeOrRefuse(mutate(next, original), `seed ${seed} case ${i}`)]++;
    }
    // Both outcomes occur, so the mutations neither all break nor all miss the parsers.
    expect(outcomes.frame).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('random valid publishes round-trip byte for byte', () => {
    const next = seededRandom(7);
    const alphabet = ['a', 'b', '/', 'é', '€', '😀', '$', ' ', '\uFEFF'];
    for (let i = 0; i < 2000; i++) {
      const length = 1 + Math.floor(next() * 12);
      const topic = Array.from(
        { length },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join('');
      const retain = next() < 0.5;
      const frame: PublishFrame = {
        type: 'publish',
        qos: next() < 0.5 ? 0 : 1,
        retain,
        dup: next() < 0.5,
        origin: `broker-${Math.floor(next() * 1000)}`,
        seq: Math.floor(next() * (Number.MAX_SAFE_INTEGER - 1)),
        topic,
        payload: randomBytes(next, Math.floor(next() * 65)),
      };
      if (retain) frame.versionTime = Math.floor(next() * Number.MAX_SAFE_INTEGER);
      const bytes = encodeFrame(frame);
      expect(decodeFrame(bytes, limits), `case ${i}`).toEqual(frame);
      expect(encodeFrame(decodeFrame(bytes, limits))).toEqual(bytes);
    }
  });
});
