import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { codeOf, hex, json } from './peer-codec.fixtures.ts';
import { decodeFrame } from './peer-codec.ts';
import { MAX_FILTERS_PER_FRAME } from './peer-frames.ts';

/** A PUBLISH from origin 'o' with the given flags, topic bytes and payload. */
const rawPublish = (flags: number, topic: Buffer, payload = Buffer.alloc(0)) =>
  Buffer.concat([
    hex('01'),
    Buffer.from([flags]),
    hex('0000000000000001 01 6f'),
    Buffer.from([topic.length >> 8, topic.length & 0xff]),
    topic,
    payload,
  ]);

describe('every malformation is refused with its code', () => {
  const tooManyFilters = Array.from({ length: MAX_FILTERS_PER_FRAME + 1 }, (_, i) => `t/${i}`);
  it.each<[string, Buffer, string]>([
    ['an empty message', Buffer.alloc(0), 'FRAME_MALFORMED'],
    ['type byte 0x00', hex('00'), 'FRAME_UNKNOWN_TYPE'],
    ['a PUBACK cut short', hex('02 00'), 'FRAME_MALFORMED'],
    ['a PUBACK with a byte too many', hex('02 00 00 00 00 00 00 00 01 00'), 'FRAME_MALFORMED'],
    ['a PUBACK above 2^53 - 1', hex('02 00 20 00 00 00 00 00 00'), 'FRAME_MALFORMED'],
    ['type byte 0x16', hex('16 7b7d'), 'FRAME_UNKNOWN_TYPE'],
    ['type byte 0xff', hex('ff'), 'FRAME_UNKNOWN_TYPE'],
    ['a PUBLISH cut inside its header', hex('01 00 0000'), 'FRAME_MALFORMED'],
    ['reserved flag bits', rawPublish(0x20, Buffer.from('t')), 'FRAME_MALFORMED'],
    ['the top flag bit', rawPublish(0x80, Buffer.from('t')), 'FRAME_MALFORMED'],
    ['a version time without retain', rawPublish(0x10, Buffer.from('t')), 'FRAME_MALFORMED'],
    ['retain without a version time', rawPublish(0x01, Buffer.from('t')), 'FRAME_MALFORMED'],
    [
      'a retained publish cut inside its version time',
      hex('01 11 0000000000000001 000000'),
      'FRAME_MALFORMED',
    ],
    [
      'a version time above 2^53 - 1',
      hex('01 11 0000000000000001 00200000 00000000 01 6f 0001 74'),
      'FRAME_MALFORMED',
    ],
    [
      'a retained publish whose origin runs past the message',
      hex('01 11 0000000000000001 0000000000000005 09 6f 0001'),
      'FRAME_MALFORMED',
    ],
    ['qos 2', rawPublish(0x04, Buffer.from('t')), 'FRAME_MALFORMED'],
    ['qos 3', rawPublish(0x06, Buffer.from('t')), 'FRAME_MALFORMED'],
    ['a seq above 2^53 - 1', hex('01 00 00200000 00000000 01 6f 0001 74'), 'FRAME_MALFORMED'],
    ['a seq of 2^53 - 1', hex('01 00 001fffff ffffffff 01 6f 0001 74'), 'FRAME_MALFORMED'],
    ['an empty origin', hex('01 00 0000000000000001 00 0001 74'), 'FRAME_MALFORMED'],
    [
      'an origin longer than the message',
      hex('01 00 0000000000000001 09 6f 0001'),
      'FRAME_MALFORMED',
    ],
    ['an empty topic', hex('01 00 0000000000000001 01 6f 0000 ffff'), 'FRAME_MALFORMED'],
    [
      'a topic longer than the message',
      hex('01 00 0000000000000001 01 6f 0005 7474'),
      'FRAME_MALFORMED',
    ],
    ['an origin that is not UTF-8', hex('01 00 0000000000000001 01 ff 0001 74'), 'FRAME_MALFORMED'],
    ['a topic cut inside a UTF-8 sequence', rawPublish(0, hex('61c3')), 'FRAME_MALFORMED'],
    ['a topic with an overlong UTF-8 slash', rawPublish(0, hex('61c0af62')), 'FRAME_MALFORMED'],
    ['a topic with an encoded surrogate', rawPublish(0, hex('eda080')), 'FRAME_MALFORMED'],
    ['a topic with +', rawPublish(0, Buffer.from('a/+')), 'FRAME_MALFORMED'],
    ['a topic with #', rawPublish(0, Buffer.from('a/#')), 'FRAME_MALFORMED'],
    ['a topic with U+0000', rawPublish(0, hex('6100')), 'FRAME_MALFORMED'],
    ['a control body that is not UTF-8', hex('10 7bff7d'), 'FRAME_MALFORMED'],
    ['a control frame without a body', hex('11'), 'FRAME_MALFORMED'],
    ['a control body that is not JSON', Buffer.from('\x11{requestId:1}'), 'FRAME_MALFORMED'],
    ['a control body that is JSON null', json(0x14, null), 'FRAME_MALFORMED'],
    ['a control body that is an array', json(0x11, [1]), 'FRAME_MALFORMED'],
    ['a SUBSCRIBE without filters', json(0x11, { requestId: 1 }), 'FRAME_MALFORMED'],
    ['a SUBSCRIBE of no filter', json(0x11, { requestId: 1, filters: [] }), 'FRAME_MALFORMED'],
    [
      'a SUBSCRIBE of an invalid filter',
      json(0x11, { requestId: 1, filters: ['a/#/b'] }),
      'FRAME_MALFORMED',
    ],
    [
      'a SUBSCRIBE of too many filters',
      json(0x11, { requestId: 1, filters: tooManyFilters }),
      'FRAME_MALFORMED',
    ],
    ['a negative requestId', json(0x12, { requestId: -1, filters: ['a'] }), 'FRAME_MALFORMED'],
    ['a requestId of 2^32', json(0x12, { requestId: 2 ** 32, filters: ['a'] }), 'FRAME_MALFORMED'],
    ['a fractional requestId', json(0x12, { requestId: 1.5, filters: ['a'] }), 'FRAME_MALFORMED'],
    [
      'an ACK denial without a code',
      json(0x13, { requestId: 1, results: [{ filter: 'a', granted: false }] }),
      'FRAME_MALFORMED',
    ],
    [
      'an ERROR with a code outside the catalogue',
      json(0x14, { code: 'NOPE', message: '' }),
      'FRAME_MALFORMED',
    ],
    [
      'a HELLO with a bad broker id',
      json(0x10, { brokerId: 'a b', stream: 'abcdefghijklmnop', maxPayloadBytes: 1 }),
      'FRAME_MALFORMED',
    ],
    ['a TOKEN_REFRESH with an empty token', json(0x15, { token: '' }), 'FRAME_MALFORMED'],
  ])('%s', (_name, bytes, code) => {
    expect(codeOf(() => decodeFrame(bytes))).toBe(code);
  });

  it('ignores unknown JSON fields, so v1 may grow optional ones', () => {
    const bytes = json(0x15, { token: 'a.b.c', later: true });
    expect(decodeFrame(bytes)).toEqual({ type: 'tokenRefresh', token: 'a.b.c' });
  });
});
