import { z } from 'zod';
import { MqfedError, parseWith } from '../../system/protocol/index.ts';

/**
 * What the harness and a client host (a container running `mqfed client-host`) say to each other
 * over one WebSocket, as JSON text frames. The harness asks (every request has an id and gets one
 * reply); the client host answers, reports its connections going up and down, and streams what
 * its subscribers received in batches, each arrival stamped where it happened.
 */

const key = z.string().min(1).max(200);
const url = z.string().min(1).max(500);
const clientId = z.string().min(1).max(200);
const qos = z.union([z.literal(0), z.literal(1)]);

const schedule = z.object({
  runId: z.number().int().nonnegative(),
  publisher: z.number().int().nonnegative(),
  rate: z.number().positive(),
  count: z.number().int().nonnegative(),
  startMs: z.number(),
  topics: z.array(z.string()).min(1),
  qos,
  payloadBytes: z.number().int().positive(),
  warmupEndMs: z.number().optional(),
});

export const hostRequestSchema = z.discriminatedUnion('op', [
  /** Reply with the client host's raw clock; the harness estimates the offset from a few. */
  z.object({ id: z.number().int(), op: z.literal('clock') }),
  /** From now on, read the run's clock as the raw clock minus this. */
  z.object({ id: z.number().int(), op: z.literal('set-clock'), offsetMs: z.number() }),
  z.object({
    id: z.number().int(),
    op: z.enum(['publisher', 'subscriber']),
    key,
    url,
    clientId,
    reconnectMs: z.number().int().positive().optional(),
    /** A subscriber's persistent session (MQTT `clean: false`). */
    persistent: z.boolean().optional(),
  }),
  z.object({
    id: z.number().int(),
    op: z.literal('probe'),
    key,
    topics: z.array(z.string()).min(1),
    /** base64 */
    payload: z.string(),
  }),
  z.object({ id: z.number().int(), op: z.literal('run'), key, schedule }),
  z.object({
    id: z.number().int(),
    op: z.literal('subscribe'),
    key,
    filters: z.array(z.string()).min(1),
    qos,
  }),
  /** What a publisher's last schedule handed over and had acknowledged so far. */
  z.object({ id: z.number().int(), op: z.literal('ledger'), key }),
  z.object({ id: z.number().int(), op: z.literal('end'), key }),
]);

/** Sequence numbers as flat [start, end) pairs: a few for a schedule without trouble. */
const ranges = z.array(z.number().int().nonnegative()).max(2_000_000);

/** A schedule's end on the client host: what it sent, and its lateness (HDR, compressed base64). */
const publishReport = z.object({
  sent: z.number().int().nonnegative(),
  lag: z.string().max(1_000_000),
});

export const hostReplySchema = z.union([
  z.object({
    id: z.number().int(),
    ok: z.literal(true),
    value: z.number().optional(),
    /** The answer to `run`. */
    report: publishReport.optional(),
    /** The answer to `ledger`. */
    ledger: z.object({ handedOver: ranges, acknowledged: ranges.nullable() }).optional(),
    /** The answer to `subscriber`: how its handshake went, on the run's clock. */
    handshake: z
      .object({ connectSentMs: z.number(), connackMs: z.number(), sessionPresent: z.boolean() })
      .optional(),
  }),
  z.object({
    id: z.number().int(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
  /** [key, arrival ms on the run's clock, payload in base64, 1 if its DUP flag was set] per message. */
  z.object({
    arrivals: z.array(
      z.union([
        z.tuple([key, z.number(), z.string()]),
        z.tuple([key, z.number(), z.string(), z.literal(1)]),
      ]),
    ),
  }),
  z.object({ status: key, connected: z.boolean() }),
]);

export type HostRequest = z.infer<typeof hostRequestSchema>;
export type HostReply = z.infer<typeof hostReplySchema>;

/** Parses one frame; throws MALFORMED_JSON or INVALID_REQUEST with the field named. */
export function parseFrame<T extends z.ZodType>(schema: T, text: string): z.output<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MqfedError('MALFORMED_JSON', 'a client-host frame is not JSON');
  }
  return parseWith(schema, json);
}
