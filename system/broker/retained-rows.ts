import type { RetainedVersion } from './retained-versions.ts';

/**
 * How a retained message's version lives in the session store. [design] Not in a column of its
 * own: in the packet's JSON `fields`, under names no aedes packet uses, so the `retained` table
 * (and the schema version) stay as they were and a store written before versions existed reads
 * back as messages of the oldest version. A tombstone is a row with an empty payload and the
 * time it expires; aedes never stores an empty retained message, so the two cannot be confused.
 */
const VERSION_TIME = 'mqfedVersionTime';
const VERSION_ORIGIN = 'mqfedVersionOrigin';
const TOMBSTONE_UNTIL = 'mqfedTombstoneUntil';

/** The row to store for a retained `packet` of `version`; a tombstone when `until` is given. */
export function retainedRow(
  packet: object,
  version: RetainedVersion,
  until: number | undefined,
): Record<string, unknown> {
  if (until !== undefined) {
    const { topic } = packet as { topic: string };
    return {
      topic,
      payload: Buffer.alloc(0),
      [VERSION_TIME]: version.time,
      [VERSION_ORIGIN]: version.origin,
      [TOMBSTONE_UNTIL]: until,
    };
  }
  return { ...packet, [VERSION_TIME]: version.time, [VERSION_ORIGIN]: version.origin };
}

export interface StoredRetained {
  /** The packet as aedes stored it, without the version fields. */
  packet: Record<string, unknown> & { topic: string };
  /** Undefined for a row written before versions existed. */
  version: RetainedVersion | undefined;
  /** Set for a tombstone: when it expires. */
  until: number | undefined;
}

/** Splits a row read back from the store into the packet and its version. */
export function readRetainedRow(row: Record<string, unknown>): StoredRetained {
  const {
    [VERSION_TIME]: time,
    [VERSION_ORIGIN]: origin,
    [TOMBSTONE_UNTIL]: until,
    ...packet
  } = row;
  return {
    packet: packet as StoredRetained['packet'],
    version: typeof time === 'number' && typeof origin === 'string' ? { time, origin } : undefined,
    until: typeof until === 'number' ? until : undefined,
  };
}
