import { z } from 'zod';

/**
 * What the session directory's HTTP API carries (docs/protocol.md, Sessions), shared by the
 * routes and the client helper.
 */

/**
 * Longest client id the directory keeps, in UTF-8 bytes. [design] MQTT allows 65 535; real
 * client ids are far shorter (MQTT 3.1.1 only promises 23), and the cap bounds the memory of an
 * entry and the path of a request (the router takes path parameters of at most 256 characters).
 */
export const maxClientIdBytes = 256;

/** Most client ids in one restore call. */
export const maxRestoreIds = 10_000;

/**
 * A client id: 1 to 256 UTF-8 bytes of well-formed Unicode. `.` and `..` are refused as well
 * [design]: URL parsers (fetch's among them) resolve them as path segments, even percent-encoded,
 * so no standard client could name them in a path, and a broker must not ask about
 * `/sessions/..` and reach `/`.
 */
export const clientIdSchema = z
  .string()
  .refine((id) => id.isWellFormed(), 'expected well-formed Unicode')
  .refine((id) => {
    const bytes = Buffer.byteLength(id, 'utf8');
    return bytes >= 1 && bytes <= maxClientIdBytes;
  }, `expected 1 to ${maxClientIdBytes} UTF-8 bytes`)
  .refine((id) => id !== '.' && id !== '..', 'a client id may not be . or ..');

/** Answer of `PUT /sessions/:clientId`. */
export interface SessionClaim {
  clientId: string;
  /** The caller, which holds the session from now on. */
  holder: string;
  /** Larger than every epoch discovery handed out before: the newest claim wins. */
  epoch: number;
  /** The entry this claim replaced (the caller itself if it held it already), or null. */
  /** The entry this claim replaced; `linkUrl` while its holder is registered. */
  previous: { holder: string; epoch: number; linkUrl?: string } | null;
}

/** Answer of `GET /sessions/:clientId`. */
export interface SessionRecord {
  clientId: string;
  holder: string;
  epoch: number;
  /** When the holder claimed it, epoch milliseconds. */
  since: number;
}

/** Answer of `PUT /brokers/:id/sessions`. */
export interface SessionRestore {
  /** Listed ids that nobody held and that the caller holds now. */
  claimed: number;
  /** Listed ids another broker holds, left alone (at most 1000 are listed). */
  heldElsewhere: string[];
}
