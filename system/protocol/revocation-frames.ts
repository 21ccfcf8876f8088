import { z } from 'zod';

/** Where the auth service serves its revocation feed (a WebSocket upgrade of `GET`). */
export const REVOCATIONS_PATH = '/revocations';

/**
 * One entry of the auth service's revocation list (docs/protocol.md, "Revocation feed"). [design]
 * - `subject`: every token of service `sub` issued before `issuedBefore` (epoch seconds, compared
 *   with `iat`) is revoked: the service was revoked, or its secret rotated;
 * - `token`: the one token whose `jti` this is.
 * `seq` orders entries and never repeats; `at` is when the auth service made the entry (epoch ms,
 * for the propagation delay); after `until` (epoch ms) every token it names has expired, and the
 * entry is dropped from the list.
 */
export const revocationEntrySchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('subject'),
    seq: z.number().int().positive(),
    sub: z.string().min(1).max(256),
    issuedBefore: z.number().int(),
    reason: z.enum(['revoked', 'secret-rotated']),
    at: z.number().int(),
    until: z.number().int(),
  }),
  z.strictObject({
    kind: z.literal('token'),
    seq: z.number().int().positive(),
    jti: z.string().min(1).max(256),
    at: z.number().int(),
    until: z.number().int(),
  }),
]);
export type RevocationEntry = z.infer<typeof revocationEntrySchema>;

/** What the feed sends: the whole list on connect, then each new entry as it is made. */
export const revocationFeedFrameSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('snapshot'),
    /** The server pings this often; a feed silent for three intervals is dead. */
    heartbeatMs: z.number().int().positive(),
    entries: z.array(revocationEntrySchema),
  }),
  z.strictObject({ type: z.literal('entry'), entry: revocationEntrySchema }),
]);
export type RevocationFeedFrame = z.infer<typeof revocationFeedFrameSchema>;
