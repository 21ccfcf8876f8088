/**
 * How an aedes packet is laid out in a row of the session database. [design] The payload is
 * stored as it is, a BLOB (or TEXT when aedes holds it as a string: the abstract persistence
 * tests do), so a large payload is never copied into JSON; the identity aedes matches on
 * (brokerId, brokerCounter) and the topic get their own columns, so a row can be read with the
 * sqlite3 shell; every other property goes into one JSON text. A restored packet must be the
 * packet that was stored, property for property, because aedes and the abstract tests compare
 * them: so a property whose value is `undefined` (aedes-packet sets `messageId: undefined`) is
 * listed by name, and Buffers nested in MQTT 5 properties are tagged. The tags start with U+0000,
 * which MQTT forbids in every string a client can send [MQTT-1.5.4-2], so they cannot collide with
 * a user property. Functions (aedes puts a `writeCallback` on packets in flight) are not data and
 * are left out.
 */

// A type, not an interface, so that it binds as named parameters (an index-signature record).
export type PacketColumns = {
  topic: string | null;
  payload: Uint8Array | string | null;
  broker_id: string | null;
  broker_counter: number | null;
  fields: string;
};

/** A packet as aedes hands it over: a plain object (or aedes-packet) with a few known fields. */
export type StorablePacket = object;

const UNDEFINED_KEYS = '\u0000undefined';
const BUFFER_TAG = '\u0000base64';

function replacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  // `this[key]` is the value before Buffer#toJSON turned it into { type, data }.
  const raw = this[key];
  if (raw instanceof Uint8Array) {
    return {
      [BUFFER_TAG]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64'),
    };
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && BUFFER_TAG in value) {
    return Buffer.from((value as Record<string, string>)[BUFFER_TAG]!, 'base64');
  }
  return value;
}

export function encodePacket(packet: StorablePacket): PacketColumns {
  const columns: PacketColumns = {
    topic: null,
    payload: null,
    broker_id: null,
    broker_counter: null,
    fields: '',
  };
  const rest: Record<string, unknown> = {};
  const undefinedKeys: string[] = [];
  // Only objects can hold a Buffer: the replacer, slow, is for packets that have one (MQTT 5).
  let nested = false;
  for (const key of Object.keys(packet)) {
    const value = (packet as Record<string, unknown>)[key];
    if (value === undefined) {
      undefinedKeys.push(key);
    } else if (typeof value === 'function') {
      // not data: see the header
    } else if (key === 'topic' && typeof value === 'string') {
      columns.topic = value;
    } else if (key === 'payload' && (typeof value === 'string' || value instanceof Uint8Array)) {
      columns.payload = value;
    } else if (key === 'brokerId' && typeof value === 'string') {
      columns.broker_id = value;
    } else if (key === 'brokerCounter' && typeof value === 'number') {
      columns.broker_counter = value;
    } else {
      rest[key] = value;
      if (typeof value === 'object' && value !== null) nested = true;
    }
  }
  if (undefinedKeys.length > 0) rest[UNDEFINED_KEYS] = undefinedKeys;
  columns.fields = nested ? JSON.stringify(rest, replacer) : JSON.stringify(rest);
  return columns;
}

/** The columns a SELECT returns for a packet (BLOBs come back as Uint8Array). */
export type PacketRow = PacketColumns;

export function decodePacket(row: PacketRow): Record<string, unknown> {
  const packet = JSON.parse(row.fields, reviver) as Record<string, unknown>;
  const undefinedKeys = packet[UNDEFINED_KEYS] as string[] | undefined;
  if (undefinedKeys !== undefined) {
    delete packet[UNDEFINED_KEYS];
    for (const key of undefinedKeys) packet[key] = undefined;
  }
  if (row.topic !== null) packet.topic = row.topic;
  if (row.payload !== null) {
    const { payload } = row;
    // A view on the row's memory, not a copy: node:sqlite hands each row its own buffer.
    packet.payload =
      typeof payload === 'string'
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  }
  if (row.broker_id !== null) packet.brokerId = row.broker_id;
  if (row.broker_counter !== null) packet.brokerCounter = row.broker_counter;
  return packet;
}
