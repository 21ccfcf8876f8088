import { z } from 'zod';
import { MqfedError, parseWith, topicFilterSchema } from '../protocol/index.ts';
import type { BrokerRecord } from './broker-directory.ts';

/**
 * The frames of a watch socket (`GET /watch`, docs/protocol.md, Discovery service): one JSON object per
 * text message, discriminated by `type`. [design] JSON, not the peer link's binary codec: watch
 * traffic is control-plane and rare, and readable frames are worth more here than bytes.
 */

export const WATCH_PATH = '/watch';

/** Filters one watch may carry by default, both lists together (`maxFiltersPerWatch`). */
export const MAX_FILTERS_PER_WATCH = 1024;

const watchIdSchema = z.string().min(1).max(64);
// The count, length and depth of the filters are the service's limits, checked after parsing
// so that they are answered WATCH_LIMIT_EXCEEDED; the frame size bounds the parsing. [design]
const watchFiltersSchema = z.array(topicFilterSchema);

/** Client → server. */
export const watchClientFrameSchemas = {
  watch: z
    .object({
      type: z.literal('watch'),
      id: watchIdSchema,
      /** Brokers with a topic matching one of these are in the view. */
      filters: watchFiltersSchema,
      /** Brokers with an interest filter intersecting one of these are in the view too. */
      interestFilters: watchFiltersSchema.optional(),
    })
    .refine((frame) => frame.filters.length > 0 || (frame.interestFilters?.length ?? 0) > 0, {
      message: 'a watch needs at least one filter or interest filter',
      path: ['filters'],
    }),
  unwatch: z.object({ type: z.literal('unwatch'), id: watchIdSchema }),
  auth: z.object({ type: z.literal('auth'), token: z.string().min(1).max(16_384) }),
} as const;

export type WatchClientFrame = z.infer<
  (typeof watchClientFrameSchemas)[keyof typeof watchClientFrameSchemas]
>;

/**
 * Decodes one client frame from parsed JSON: INVALID_REQUEST when it is not an object with a
 * string `type`, FRAME_UNKNOWN_TYPE for a type the server does not speak, and INVALID_REQUEST
 * naming the field when the frame breaks its schema.
 */
export function decodeWatchClientFrame(value: unknown): WatchClientFrame {
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof value !== 'object' || value === null || typeof type !== 'string') {
    throw new MqfedError('INVALID_REQUEST', 'type: expected a frame object with a string type');
  }
  if (!Object.hasOwn(watchClientFrameSchemas, type)) {
    throw new MqfedError(
      'FRAME_UNKNOWN_TYPE',
      `unknown frame type ${JSON.stringify(type.slice(0, 32))}`,
    );
  }
  return parseWith(watchClientFrameSchemas[type as keyof typeof watchClientFrameSchemas], value);
}

/** Why a broker dropped out of a watch's view. */
export type WatchLeaveReason = 'expired' | 'deregistered' | 'revoked' | 'withdrawn';

/**
 * Server → client events about one watch (`id`). Applied in order they maintain the watch's view:
 * the live brokers with at least one topic matching the watch's `filters` or at least one
 * interest filter intersecting its `interestFilters`, each with only those topics and that
 * interest. Without `interestFilters` the brokers are those a lookup of the filters answers, with
 * the same topics, and records carry no interest.
 */
export type WatchEvent =
  /** The view when the watch started; always the first event of a watch. */
  | { type: 'snapshot'; id: string; brokers: BrokerRecord[] }
  /** A broker entered the view, or registered again (new link URL, new topics): replace it. */
  | { type: 'joined'; id: string; broker: BrokerRecord }
  | { type: 'topics-added'; id: string; brokerId: string; topics: string[] }
  /** Some matching topics withdrawn; the broker stays in the view while anything else matches. */
  | { type: 'topics-removed'; id: string; brokerId: string; topics: string[] }
  | { type: 'interest-added'; id: string; brokerId: string; interest: string[] }
  /** Some matching interest withdrawn; the broker stays while anything else matches. */
  | { type: 'interest-removed'; id: string; brokerId: string; interest: string[] }
  /**
   * The broker left the view: its lease expired, it deregistered, its tokens were revoked at
   * the auth service (`revoked`), or neither a topic nor an interest filter matches anymore
   * (`withdrawn`).
   */
  | { type: 'left'; id: string; brokerId: string; reason: WatchLeaveReason };

/** Server → client answers that are not about the view. */
export type WatchControlFrame =
  | { type: 'unwatched'; id: string }
  /** A fresh token was accepted; the socket now lives until `expiresAt`. */
  | { type: 'authed'; expiresAt: number };

export type WatchServerFrame = WatchEvent | WatchControlFrame;
