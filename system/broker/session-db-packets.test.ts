import { describe, expect, it } from 'vitest';
import { decodePacket, encodePacket } from './session-db-packets.ts';

const roundTrips: [string, Record<string, unknown>][] = [
  [
    'a publish as aedes queues it, with its packet id still unset',
    {
      cmd: 'publish',
      brokerId: 'b1',
      brokerCounter: 7,
      topic: 'a/b',
      payload: Buffer.from([0, 1, 2, 255]),
      qos: 1,
      retain: false,
      dup: false,
      messageId: undefined,
    },
  ],
  ['a PUBREL that replaced its PUBLISH', { cmd: 'pubrel', messageId: 42 }],
  ['a string payload', { topic: 't', payload: 'text', qos: 0 }],
  ['an empty payload', { topic: 't', payload: Buffer.alloc(0), qos: 1 }],
  [
    'MQTT 5 properties with binary correlation data',
    {
      topic: 't',
      payload: Buffer.from('x'),
      properties: {
        correlationData: Buffer.from('corr'),
        userProperties: { region: 'eu', $buffer: 'not a tag' },
      },
      messageExpiry: 1_700_000_000_000,
    },
  ],
  ['a will as aedes stores it', { topic: 'w', payload: Buffer.from('bye'), clientId: 'c' }],
];

describe('a packet stored in the session database', () => {
  it.each(roundTrips)('comes back unchanged: %s', (_name, packet) => {
    const columns = encodePacket(packet);
    // BLOBs come back from node:sqlite as plain Uint8Array.
    const payload =
      columns.payload instanceof Uint8Array ? new Uint8Array(columns.payload) : columns.payload;
    expect(decodePacket({ ...columns, payload })).toStrictEqual(packet);
  });

  it('keeps the payload out of the JSON, and leaves out functions', () => {
    const columns = encodePacket({
      topic: 't',
      payload: Buffer.alloc(1000),
      writeCallback: () => undefined,
    });
    expect(columns.payload).toHaveLength(1000);
    expect(columns.fields).toBe('{}');
  });
});
