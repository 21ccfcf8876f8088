import { randomBytes } from 'node:crypto';

/** One publish waiting in a peer's outbox, as the store keeps it (QoS 1 only). */
export interface StoredPublish {
  seq: number;
  qos: 0 | 1;
  retain: boolean;
  /** The version time of a retained message (mqfed.v3); set exactly when `retain` is. */
  versionTime?: number;
  topic: string;
  payload: Uint8Array;
  /** When it entered the outbox, epoch milliseconds: the age bound counts from here. */
  at: number;
}

/** Where the outbound stream to one peer stands: its id, and the first number not yet given. */
export interface OutboundStream {
  id: string;
  nextSeq: number;
}

/** What this broker has delivered of one peer's stream: every message numbered below `next`. */
export interface InboundPosition {
  stream: string;
  next: number;
}

/**
 * What the data plane keeps so that a restart loses nothing: per peer, the outbound stream and
 * the QoS 1 publishes it has not acknowledged; per origin, how far its stream was delivered here.
 * [design] Two implementations: in memory (no data directory: everything survives reconnects but
 * not a restart) and SQLite in the data directory (federation-db.ts). The outbox itself keeps its
 * entries in memory either way; the store is written through, never read on the hot path.
 */
export interface FederationStore {
  /** True when what is written here survives a crash of the process. */
  readonly durable: boolean;
  /** The stream to `peer`, created (with a fresh random id) the first time. */
  outboundStream(peer: string): OutboundStream;
  /** Replaces the stream to `peer` by a fresh one, numbered on from `nextSeq`. */
  newOutboundStream(peer: string, nextSeq: number): OutboundStream;
  /**
   * Numbers below `until` may be given out: after a crash numbering resumes at `until`, so
   * nothing is numbered twice, though numbers are skipped. [design] Reserving in blocks keeps
   * QoS 0 publishes, which are never stored, from costing a write each.
   */
  reserve(peer: string, until: number): void;
  /** Keeps one QoS 1 publish for `peer` until `trim` passes it. */
  append(peer: string, publish: StoredPublish): void;
  /** Forgets the publishes for `peer` numbered below `below` (acknowledged or dropped). */
  trim(peer: string, below: number): void;
  /** The publishes kept for `peer`, in order (read once, at start-up). */
  load(peer: string): StoredPublish[];
  /** Peers with publishes kept for them (read once, at start-up). */
  peersWithOutbox(): string[];
  inboundPosition(origin: string): InboundPosition | undefined;
  saveInboundPosition(origin: string, position: InboundPosition): void;
  /**
   * Runs `callback` once what was written so far is on disk (at once when nothing is pending),
   * with the error if the commit failed. What acknowledges a write waits for this.
   */
  afterCommit(callback: (error?: Error) => void): void;
  /** Commits what is pending now, rather than at the end of the turn. */
  flush(): void;
  close(): void;
}

/** A stream id nobody can guess: 128 random bits, URL-safe. */
export function newStreamId(): string {
  return randomBytes(16).toString('base64url').padEnd(22, 'A');
}

/** The store without a data directory: streams and positions live as long as the process. */
export function createMemoryStore(): FederationStore {
  const streams = new Map<string, OutboundStream>();
  const positions = new Map<string, InboundPosition>();
  return {
    durable: false,
    outboundStream(peer) {
      let stream = streams.get(peer);
      if (stream === undefined) {
        stream = { id: newStreamId(), nextSeq: 0 };
        streams.set(peer, stream);
      }
      return { ...stream };
    },
    newOutboundStream(peer, nextSeq) {
      const stream = { id: newStreamId(), nextSeq };
      streams.set(peer, stream);
      return { ...stream };
    },
    reserve(peer, until) {
      const stream = streams.get(peer);
      if (stream !== undefined) stream.nextSeq = Math.max(stream.nextSeq, until);
    },
    append() {},
    trim() {},
    load: () => [],
    peersWithOutbox: () => [],
    inboundPosition: (origin) => positions.get(origin),
    saveInboundPosition(origin, position) {
      positions.set(origin, { ...position });
    },
    afterCommit(callback) {
      callback();
    },
    flush() {},
    close() {},
  };
}
