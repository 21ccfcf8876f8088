import { Buffer } from 'node:buffer';
import { MqfedError } from './errors.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, type PeerFrame, type PublishFrame } from './peer-frames.ts';

/** Valid frames of every type, shared by the round-trip table and the fuzz tests. */

const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function publish(overrides: Partial<PublishFrame>): PublishFrame {
  return {
    type: 'publish',
    qos: 0,
    retain: false,
    dup: false,
    origin: 'broker-a',
    seq: 1,
    topic: 'sensors/room-1/temperature',
    payload: Buffer.from('21.5'),
    ...overrides,
  };
}

const flagCombinations: [string, PeerFrame][] = [];
for (const qos of [0, 1] as const) {
  for (const retain of [false, true]) {
    for (const dup of [false, true]) {
      flagCombinations.push([
        `qos ${qos} retain ${retain} dup ${dup}`,
        publish(retain ? { qos, retain, dup, versionTime: 1_764_000_000_000 } : { qos, dup }),
      ]);
    }
  }
}

export const validFrames: [string, PeerFrame][] = [
  ['a publish with an empty payload', publish({ payload: Buffer.alloc(0) })],
  ['a publish with a 1-byte payload', publish({ payload: Buffer.from([0x00]) })],
  ['a publish with a 64 KiB payload', publish({ payload: Buffer.alloc(64 * 1024, 0xa5) })],
  [
    'a publish with a payload of exactly the default limit',
    publish({ payload: Buffer.alloc(DEFAULT_MAX_PAYLOAD_BYTES, 7) }),
  ],
  ['a publish whose payload holds all 256 byte values', publish({ payload: everyByte })],
  ['a publish on a unicode topic', publish({ topic: 'température/salle-1/🌡️', origin: 'b' })],
  ['a publish on a $ topic', publish({ topic: '$SYS/broker/load' })],
  ['a publish on a topic with empty levels', publish({ topic: '/a//b/' })],
  ['a publish on a topic of one slash', publish({ topic: '/' })],
  ['a publish on a topic starting with a BOM', publish({ topic: '\uFEFFbom/topic' })],
  ['a publish on a topic of 65 535 bytes', publish({ topic: 'x'.repeat(65_535) })],
  ['a publish from an origin of 255 bytes', publish({ origin: `${'é'.repeat(127)}x` })],
  ['a publish with sequence number 0', publish({ seq: 0 })],
  ['a publish with sequence number 2^32 - 1', publish({ seq: 2 ** 32 - 1 })],
  ['a publish with sequence number 2^32', publish({ seq: 2 ** 32 })],
  ['a publish with sequence number 2^53 - 2', publish({ seq: Number.MAX_SAFE_INTEGER - 1 })],
  ['a retained publish of version time 0', publish({ retain: true, versionTime: 0 })],
  [
    'a retained publish of version time 2^53 - 1',
    publish({ retain: true, versionTime: Number.MAX_SAFE_INTEGER }),
  ],
  [
    'a retained delete (empty payload) with its version',
    publish({ retain: true, versionTime: 2 ** 32 + 1, payload: Buffer.alloc(0) }),
  ],
  ...flagCombinations,
  [
    'a hello',
    {
      type: 'hello',
      brokerId: 'broker-a',
      stream: 'Zm9vYmFyYmF6cXV4MTIzNA',
      maxPayloadBytes: 262_144,
    },
  ],
  ['a puback at 0', { type: 'puback', next: 0 }],
  ['a puback at 2^53 - 1', { type: 'puback', next: Number.MAX_SAFE_INTEGER }],
  [
    'a subscribe',
    { type: 'subscribe', requestId: 0, filters: ['#', '$SYS/#', '+/+/temperature', 'a/b'] },
  ],
  ['an unsubscribe', { type: 'unsubscribe', requestId: 0xffff_ffff, filters: ['sensors/#'] }],
  [
    'an ack granting and denying',
    {
      type: 'ack',
      requestId: 3,
      results: [
        { filter: 'sensors/#', granted: true },
        { filter: 'secret/#', granted: false, code: 'SCOPE_DENIED' },
      ],
    },
  ],
  [
    'an error about a request',
    { type: 'error', code: 'SCOPE_DENIED', message: 'no', requestId: 9 },
  ],
  ['an error about the link', { type: 'error', code: 'TOKEN_EXPIRED', message: 'ünïcødé' }],
  ['a token refresh', { type: 'tokenRefresh', token: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' }],
];

/** The fixture of that name, which must be a PUBLISH. */
export function publishFixture(name: string): PublishFrame {
  const frame = validFrames.find(([fixture]) => fixture === name)?.[1];
  if (frame?.type !== 'publish') throw new Error(`no publish fixture named ${name}`);
  return frame;
}

/** The code an action fails with; anything but an MqfedError is reported as such. */
export function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return error instanceof MqfedError ? error.code : `not an MqfedError: ${String(error)}`;
  }
  return 'no error';
}

/** Bytes from hex digits, spaces allowed for readability. */
export const hex = (text: string): Buffer => Buffer.from(text.replaceAll(' ', ''), 'hex');

/** A control frame of this type byte with this JSON body, built by hand. */
export const json = (type: number, body: unknown): Buffer =>
  Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(body))]);
