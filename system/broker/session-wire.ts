import { z } from 'zod';
import { topicFilterSchema } from '../protocol/index.ts';

/**
 * The bodies of the session peer API (docs/protocol.md, "Sessions across brokers"): a broker
 * takes a client's session from the broker that held it (`/sessions/take`, paged), and the giver
 * later pushes what reached the session while the taker's interest was spreading
 * (`/sessions/tail`). Everything a peer sends is validated here before anything is kept.
 */

/** MQTT allows client ids of 65 535 bytes; across brokers they are capped (the directory too). */
export const MAX_CLIENT_ID_LENGTH = 256;

/** Subscriptions one moved session may bring. */
export const MAX_MOVED_SUBSCRIPTIONS = 10_000;

const clientId = z.string().min(1).max(MAX_CLIENT_ID_LENGTH);

/** A topic name: a filter without wildcards. */
const topicName = topicFilterSchema.refine((topic) => !/[+#]/.test(topic), {
  message: 'a topic name has no wildcards',
});

export const movedMessageSchema = z.strictObject({
  topic: topicName,
  /** base64 */
  payload: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64'),
  qos: z.union([z.literal(0), z.literal(1)]),
  /** Set when the client may have had it already: sent before and unacknowledged, or a tail. */
  dup: z.boolean(),
});
export type MovedMessage = z.infer<typeof movedMessageSchema>;

export const takeRequestSchema = z.strictObject({
  clientId,
  /** The taker's claim in the session directory: a newer claim than the giver's own. */
  epoch: z.number().int().nonnegative(),
  /** The principal the connecting client authenticated as at the taker; null: anonymous. */
  owner: z.string().min(1).max(MAX_CLIENT_ID_LENGTH).nullable(),
  /** The client connected with a clean session: the old one ends, nothing moves. */
  clean: z.boolean(),
  /** Index of the first queued message wanted (paging). */
  from: z.number().int().nonnegative(),
});
export type TakeRequest = z.infer<typeof takeRequestSchema>;

export const takeAnswerSchema = z.strictObject({
  /** False: no session here (then `movedTo` may name where it went). */
  found: z.boolean(),
  movedTo: z.string().min(1).max(MAX_CLIENT_ID_LENGTH).optional(),
  subscriptions: z
    .array(
      z.strictObject({
        topic: topicFilterSchema,
        qos: z.union([z.literal(0), z.literal(1), z.literal(2)]),
      }),
    )
    .max(MAX_MOVED_SUBSCRIPTIONS),
  messages: z.array(movedMessageSchema),
  /** The index to ask `from` next, when not `done`. */
  next: z.number().int().nonnegative(),
  done: z.boolean(),
  /** Brokers still relaying this session to the giver: their tails will come on to the taker. */
  relaying: z.array(z.string().min(1).max(MAX_CLIENT_ID_LENGTH)).max(4).optional(),
});
export type TakeAnswer = z.infer<typeof takeAnswerSchema>;

export const tailRequestSchema = z.strictObject({
  clientId,
  epoch: z.number().int().nonnegative(),
  /** Index, in the giver's queue, of the first message of this page. */
  from: z.number().int().nonnegative(),
  messages: z.array(movedMessageSchema),
  done: z.boolean(),
});
export type TailRequest = z.infer<typeof tailRequestSchema>;

export const tailAnswerSchema = z.strictObject({
  accepted: z.boolean(),
  /** Not taken here: the session moved on to this broker; send the tail there. */
  movedTo: z.string().min(1).max(MAX_CLIENT_ID_LENGTH).optional(),
  /** The taker never got the first part (its take failed): send everything from here. */
  resendFrom: z.number().int().nonnegative().optional(),
});
export type TailAnswer = z.infer<typeof tailAnswerSchema>;

/** Bytes a message adds to a JSON page, roughly: base64 payload, topic and the keys. */
export function movedMessageBytes(message: MovedMessage): number {
  return message.payload.length + message.topic.length * 2 + 48;
}

/**
 * The taker's interest in every subscription of the session was known to its peers before the
 * move (other clients here wanted the same): the giver may end the relay now.
 */
export const releaseRequestSchema = z.strictObject({
  clientId,
  epoch: z.number().int().nonnegative(),
});
export type ReleaseRequest = z.infer<typeof releaseRequestSchema>;
