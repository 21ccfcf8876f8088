import { z } from 'zod';
import { isValidTopicName, serviceIdSchema, topicFilterSchema } from '../protocol/index.ts';

/**
 * The retained fetch of the peer API (docs/protocol.md, "Retained fetch"): `POST
 * /peer-api/retained` with the filters a new local subscription asked for; the answer holds the
 * retained messages (and tombstones) on matching topics within the caller's consume scope, each
 * with its version. [design] JSON with base64 payloads: it is one request per new subscription
 * and peer, not the hot path.
 */
export const RETAINED_FETCH_PATH = '/retained';

/** Filters one fetch carries at most; a caller splits larger sets. */
export const MAX_FETCH_FILTERS = 64;

export const retainedFetchRequestSchema = z.object({
  filters: z
    .array(topicFilterSchema.refine((filter) => filter.isWellFormed(), 'lone surrogate'))
    .min(1)
    .max(MAX_FETCH_FILTERS),
});

/** What a caller accepts; anything else makes it refuse the whole answer. */
export const retainedFetchAnswerSchema = z.object({
  messages: z.array(
    z.object({
      topic: z
        .string()
        .min(1)
        .max(65_535)
        .refine((topic) => topic.isWellFormed() && isValidTopicName(topic), 'not a topic name'),
      payload: z.base64(),
      qos: z.union([z.literal(0), z.literal(1), z.literal(2)]),
      time: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      origin: serviceIdSchema,
      deleted: z.boolean().optional(),
    }),
  ),
  truncated: z.boolean(),
});

export type RetainedFetchAnswer = z.output<typeof retainedFetchAnswerSchema>;
export type FetchedRetained = RetainedFetchAnswer['messages'][number];
