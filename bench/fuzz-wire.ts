import type { TokenTarget } from '../system/protocol/index.ts';

/**
 * What the fuzzer and its services process (fuzz-services-process.ts) say to each other over the
 * IPC channel, and the names of the services and identities involved.
 */

/** The one broker service under fuzzing. */
export const BROKER_ID = 'b1';
/** Registered brokers the fuzzer speaks for on peer links, one per concurrent link. */
export const PEER_IDS = ['fuzz-peer-1', 'fuzz-peer-2', 'fuzz-peer-3', 'fuzz-peer-4'] as const;
/** The registered broker whose token the HTTP fuzzing uses on discovery's broker routes. */
export const WRITER_ID = 'fuzz-writer';
/** The registered broker whose token opens watch sockets. */
export const READER_ID = 'fuzz-reader';

export interface FuzzIdentity {
  id: string;
  secret: string;
  /** A valid token for each audience target. */
  tokens: Partial<Record<TokenTarget, string>>;
}

export interface FuzzIdentities {
  peers: FuzzIdentity[];
  writer: FuzzIdentity;
  reader: FuzzIdentity;
}

export interface FuzzReady {
  type: 'ready';
  pid: number;
  authUrl: string;
  discoveryUrl: string;
  watchUrl: string;
  brokerUrl: string;
  linkUrl: string;
  mqttUrl: string;
  adminCredential: string;
  identities: FuzzIdentities;
}

/** Services process → fuzzer. */
export type FuzzReport =
  | FuzzReady
  | { type: 'memory'; rss: number; heapUsed: number; external: number }
  | { type: 'uncaught'; event: string; error: string };

/** Fuzzer → services process. */
export type FuzzRequest = { type: 'memory' } | { type: 'close' };
