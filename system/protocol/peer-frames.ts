import { z } from 'zod';
import { isErrorCode } from './errors.ts';
import { serviceIdSchema, topicFilterSchema } from './token-claims.ts';

/**
 * The frames of a peer link: the one discriminated union of every WebSocket message two broker
 * services exchange (docs/protocol.md, Peer links). The codec lives in peer-codec.ts. [design]
 */

/**
 * Negotiated during the WebSocket upgrade; a new wire format gets a new subprotocol. [design]
 * v2 (at-least-once): HELLO names the sender's outbound stream, PUBACK (0x02) acknowledges it,
 * and a receiver drops duplicates by stream and sequence number. A v1 peer would deliver
 * without acknowledging and never see a resend, so it is refused (PROTOCOL_UNSUPPORTED).
 * v3 (versioned retained messages): every retained PUBLISH carries the version time of its
 * retained message (flag bit 4), so every broker keeps the same winner of concurrent retains. A
 * v2 peer would neither send nor read it, so it is refused too.
 */
export const PEER_LINK_SUBPROTOCOL = 'mqfed.v3';

/** Publish payloads above this are refused (PAYLOAD_TOO_LARGE) unless configured otherwise. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;

/**
 * Control frames above this are refused (BODY_TOO_LARGE). 1 MiB lets a SUBSCRIBE carry a single
 * filter of any legal length (65 535 bytes, up to 6 JSON bytes per character when escaped). [design]
 */
export const DEFAULT_MAX_CONTROL_BYTES = 1024 * 1024;

/** The wire format caps the origin broker id at one length byte. */
export const MAX_ORIGIN_BYTES = 255;

/** SUBSCRIBE, UNSUBSCRIBE and ACK carry at most this many filters; senders split larger sets. */
export const MAX_FILTERS_PER_FRAME = 1024;

/** What a receiver accepts. Each side may configure its own; HELLO tells the peer. */
export interface PeerFrameLimits {
  /** Largest PUBLISH payload, in bytes. */
  maxPayloadBytes: number;
  /** Largest control-frame JSON body, in bytes. */
  maxControlBytes: number;
}

export const DEFAULT_PEER_FRAME_LIMITS: Readonly<PeerFrameLimits> = Object.freeze({
  maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
  maxControlBytes: DEFAULT_MAX_CONTROL_BYTES,
});

/** The first byte of every message. 0x00-0x0F have binary bodies, 0x10-0x1F JSON bodies. */
export const FRAME_TYPE_CODES = {
  publish: 0x01,
  puback: 0x02,
  hello: 0x10,
  subscribe: 0x11,
  unsubscribe: 0x12,
  ack: 0x13,
  error: 0x14,
  tokenRefresh: 0x15,
} as const;

/** Bytes of a PUBACK: the type and the eight-byte `next`. */
export const PUBACK_BYTES = 9;

/**
 * The receiver of a stream acknowledges it cumulatively: it has delivered every message of the
 * sender's current stream numbered below `next`, so the sender may forget them. Sent once right
 * after the sender's HELLO (where to resume) and then as deliveries complete, at most once per
 * event-loop turn. Binary: it is as frequent as publishes. [design]
 */
export interface PubackFrame {
  type: 'puback';
  next: number;
}

/**
 * A message published on the origin broker, pushed to a peer that subscribed a matching filter.
 * Binary on the wire: it is the hot path. [design]
 */
export interface PublishFrame {
  type: 'publish';
  /** QoS 2 is not carried across brokers; a broker service downgrades it to 1. [design] */
  qos: 0 | 1;
  retain: boolean;
  dup: boolean;
  /** The broker service whose client published; 1..255 UTF-8 bytes. */
  origin: string;
  /**
   * Per-origin sequence number, lets the receiver drop duplicates and count gaps. Eight bytes on
   * the wire, but limited to 2^53 - 1 so it stays a plain number: no bigint on the hot path, and
   * at a million publishes per second it lasts 285 years. Scoped by the stream the sender's
   * HELLO names. [design]
   */
  seq: number;
  /** An MQTT topic name (no wildcards). */
  topic: string;
  /**
   * Any bytes, possibly none. When decoded this is a view into the received message, not a copy:
   * a caller that keeps it longer than the message must copy it.
   */
  payload: Uint8Array;
  /**
   * The version time of a retained message (ms on the origin's clock, 0 … 2^53 − 1): present on
   * every retained publish and only there. The version's other half is `origin`. [design]
   */
  versionTime?: number;
}

const peerFilterSchema = topicFilterSchema.refine((filter) => filter.isWellFormed(), {
  message: 'contains a lone surrogate',
});
const requestIdSchema = z.number().int().min(0).max(0xffff_ffff);
const filterListSchema = z.array(peerFilterSchema).min(1).max(MAX_FILTERS_PER_FRAME);
const errorCodeSchema = z.string().refine(isErrorCode, { message: 'not an mqfed error code' });

/** Stream ids are random and unguessable: they are what keeps one peer off another's numbering. */
export const streamIdSchema = z
  .string()
  .min(16)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

/**
 * The JSON bodies of control frames, by frame type. Unknown fields are dropped, so later v1
 * revisions may add optional fields without breaking older peers. [design]
 */
export const controlBodySchemas = {
  /** First frame in each direction: who is speaking, and what it accepts. */
  hello: z.object({
    brokerId: serviceIdSchema,
    /**
     * The sender's outbound stream to this peer: the sequence numbers of its publishes count in
     * it. Kept across reconnects and, with a data directory, across restarts; a new stream id
     * tells the receiver to forget what it knew of the old one.
     */
    stream: streamIdSchema,
    maxPayloadBytes: z.number().int().min(0).max(0xffff_ffff),
  }),
  subscribe: z.object({ requestId: requestIdSchema, filters: filterListSchema }),
  unsubscribe: z.object({ requestId: requestIdSchema, filters: filterListSchema }),
  /** Answers a SUBSCRIBE or UNSUBSCRIBE: one result per filter, in request order. */
  ack: z.object({
    requestId: requestIdSchema,
    results: z
      .array(
        z.discriminatedUnion('granted', [
          z.object({ filter: peerFilterSchema, granted: z.literal(true) }),
          z.object({ filter: peerFilterSchema, granted: z.literal(false), code: errorCodeSchema }),
        ]),
      )
      .min(1)
      .max(MAX_FILTERS_PER_FRAME),
  }),
  /** A failure; with a requestId it answers that request, without one it concerns the link. */
  error: z.object({
    code: errorCodeSchema,
    message: z.string().max(4096),
    requestId: requestIdSchema.optional(),
  }),
  /** A fresh access token, sent before the one checked at upgrade expires. */
  tokenRefresh: z.object({
    token: z
      .string()
      .min(1)
      .max(16 * 1024),
  }),
} as const;

type ControlBodies = typeof controlBodySchemas;
export type ControlFrameType = keyof ControlBodies;
type ControlFrameOf<T extends ControlFrameType> = { type: T } & z.output<ControlBodies[T]>;

export type HelloFrame = ControlFrameOf<'hello'>;
export type SubscribeFrame = ControlFrameOf<'subscribe'>;
export type UnsubscribeFrame = ControlFrameOf<'unsubscribe'>;
export type AckFrame = ControlFrameOf<'ack'>;
export type ErrorFrame = ControlFrameOf<'error'>;
export type TokenRefreshFrame = ControlFrameOf<'tokenRefresh'>;
export type ControlFrame =
  | HelloFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | AckFrame
  | ErrorFrame
  | TokenRefreshFrame;

/** Every message of a peer link. */
export type PeerFrame = PublishFrame | PubackFrame | ControlFrame;
export type PeerFrameType = PeerFrame['type'];

/** Bytes of a PUBLISH before origin, topic and payload: type, flags, seq, two length fields. */
export const PUBLISH_FIXED_BYTES = 1 + 1 + 8 + 1 + 2;

/** Bytes a retained PUBLISH adds for its version time. */
export const PUBLISH_VERSION_BYTES = 8;

/**
 * The largest WebSocket message a receiver with these limits can accept; give it to the
 * WebSocket server (ws `maxPayload`) so oversized messages are cut before they are buffered.
 */
export function peerMessageSizeLimit(limits: PeerFrameLimits = DEFAULT_PEER_FRAME_LIMITS): number {
  const largestPublish =
    PUBLISH_FIXED_BYTES +
    PUBLISH_VERSION_BYTES +
    MAX_ORIGIN_BYTES +
    65_535 +
    limits.maxPayloadBytes;
  return Math.max(largestPublish, 1 + limits.maxControlBytes);
}
