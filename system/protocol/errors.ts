import { z } from 'zod';
/**
 * The one error catalogue of mqfed. Every failure that crosses a process boundary carries one of
 * these stable codes; tests assert codes, never messages. [design]
 *
 * Each code maps to exactly one HTTP status and one WebSocket close code, so an HTTP handler and a
 * WebSocket handler report the same failure the same way. Close codes 4000-4999 are reserved by
 * RFC 6455 for applications; we mirror the HTTP status in the last three digits (4400 ↔ 400) so
 * the two are easy to read side by side. 1009 (message too big) is the standard code for an
 * oversized frame and is kept as such.
 */
export const errorCatalogue = {
  // Malformed input
  MALFORMED_JSON: { http: 400, ws: 4400, summary: 'The body or frame is not valid JSON.' },
  BODY_MISSING: { http: 400, ws: 4400, summary: 'The request needs a JSON body and has none.' },
  BODY_TOO_LARGE: { http: 413, ws: 1009, summary: 'The body or frame exceeds the size limit.' },
  INVALID_REQUEST: {
    http: 400,
    ws: 4400,
    summary: 'The body or frame does not match the expected schema.',
  },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, ws: 4400, summary: 'The body is not application/json.' },
  ROUTE_NOT_FOUND: { http: 404, ws: 4404, summary: 'No such endpoint.' },
  METHOD_NOT_ALLOWED: { http: 405, ws: 4405, summary: 'The endpoint does not take this method.' },
  FRAME_UNKNOWN_TYPE: { http: 400, ws: 4400, summary: 'The frame has an unknown type.' },
  // A peer-link frame that cannot be decoded is a broken peer, not a bad request: 1007 (invalid
  // frame payload data, RFC 6455) closes the link with the standard code for exactly this. [design]
  FRAME_MALFORMED: {
    http: 400,
    ws: 1007,
    summary: 'The frame is truncated, overlong, not valid UTF-8, or breaks the frame schema.',
  },
  PAYLOAD_TOO_LARGE: {
    http: 413,
    ws: 1009,
    summary: 'The publish payload exceeds the configured limit.',
  },
  PROTOCOL_UNSUPPORTED: {
    http: 400,
    ws: 4426,
    summary: 'The peer asked for a protocol version this service does not speak.',
  },

  // Authentication of callers
  TOKEN_MISSING: { http: 401, ws: 4401, summary: 'No bearer token was presented.' },
  TOKEN_INVALID: {
    http: 401,
    ws: 4401,
    summary: 'The token is malformed, forged, or signed with a key or algorithm not accepted.',
  },
  TOKEN_EXPIRED: { http: 401, ws: 4401, summary: 'The token has expired.' },
  TOKEN_NOT_YET_VALID: { http: 401, ws: 4401, summary: 'The token is not valid yet (nbf).' },
  TOKEN_CLAIM_INVALID: {
    http: 401,
    ws: 4401,
    summary: 'The token has the wrong issuer or audience, or misses a required claim.',
  },
  KEYS_UNAVAILABLE: {
    http: 503,
    ws: 1013,
    summary: 'The issuer keys could not be fetched and none are cached.',
  },
  CLIENT_CREDENTIALS_INVALID: {
    http: 401,
    ws: 4401,
    summary: 'Unknown service id, wrong secret, or a revoked registration.',
  },
  ADMIN_CREDENTIAL_INVALID: {
    http: 401,
    ws: 4401,
    summary: 'The admin credential is missing or wrong.',
  },

  // Authorization
  ROLE_FORBIDDEN: { http: 403, ws: 4403, summary: 'The token role may not call this endpoint.' },
  IDENTITY_MISMATCH: {
    http: 403,
    ws: 4403,
    summary: 'A service may register and advertise only as itself (its sub claim).',
  },
  SCOPE_DENIED: { http: 403, ws: 4403, summary: 'The topic or filter is outside the token scope.' },
  SESSION_FORBIDDEN: {
    http: 403,
    ws: 4403,
    summary: "The session belongs to another client principal than the taker's client.",
  },

  // State
  SERVICE_NOT_FOUND: { http: 404, ws: 4404, summary: 'No registered service has this id.' },
  LEASE_NOT_FOUND: {
    http: 404,
    ws: 4404,
    summary: 'No live lease for this broker; register again.',
  },
  KEY_NOT_FOUND: { http: 404, ws: 4404, summary: 'No signing key has this kid.' },

  // Ours, never the caller's fault
  INTERNAL: { http: 500, ws: 1011, summary: 'An unexpected failure inside the service.' },

  // Appended for TLS (issue 12): a service refuses to start on these.
  TLS_MATERIAL_INVALID: {
    http: 400,
    ws: 4400,
    summary: 'A TLS CA, certificate or key file is missing, unreadable, or not PEM.',
  },
  PLAIN_LISTENER_NOT_LOOPBACK: {
    http: 400,
    ws: 4400,
    summary: 'A plain-text listener may bind only a loopback address unless insecure is set.',
  },

  // Appended by the auth service (registration state).
  SERVICE_EXISTS: { http: 409, ws: 4409, summary: 'A service with this id is already registered.' },

  // Appended by the discovery service (advertised topic space).
  TOPIC_LIMIT_EXCEEDED: {
    http: 409,
    ws: 4409,
    summary: 'The change would take the advertised topic set over its size limit.',
  },
  // The session directory of discovery (issue 13): which broker holds a client's session.
  SESSION_NOT_FOUND: {
    http: 404,
    ws: 4404,
    summary: 'No broker holds a session for this client id.',
  },
  SESSION_MOVED: {
    http: 409,
    ws: 4409,
    summary: 'The session is held by another broker now (or under a newer epoch).',
  },
  SESSION_LIMIT_EXCEEDED: {
    http: 429,
    ws: 4429,
    summary: 'The broker, or the directory, holds as many sessions as allowed.',
  },
  CLIENT_LIMIT_EXCEEDED: {
    http: 429,
    ws: 4429,
    summary: 'The broker has as many MQTT clients connected as its --max-clients allows.',
  },

  // Peer links between broker services.
  LINK_EXISTS: {
    http: 409,
    ws: 4409,
    summary: 'These two brokers already share a peer link; it is used both ways.',
  },
  PEER_UNREACHABLE: {
    http: 503,
    ws: 1013,
    summary: 'The peer did not answer (dead link, missed pong, or refused connection).',
  },
  SUBSCRIPTION_LIMIT_EXCEEDED: {
    http: 409,
    ws: 4409,
    summary: 'The peer holds as many subscribed filters (or filter bytes) on this link as allowed.',
  },
  STREAM_RESET: {
    http: 409,
    ws: 4409,
    summary:
      'The peer acknowledged more of the outbound stream than was ever sent; a fresh stream follows.',
  },
  OUTBOX_FULL: {
    http: 503,
    ws: 1013,
    summary: 'A QoS 1 publish was refused: it alone exceeds the per-peer outbox bound.',
  },
  STORE_FAILED: {
    http: 500,
    ws: 1011,
    summary: 'The data directory could not be opened or written.',
  },

  // Limits against hostile callers (issue 12): each one is also counted in a metric.
  WATCH_LIMIT_EXCEEDED: {
    http: 409,
    ws: 4409,
    summary:
      'Too many watches for this socket or token subject, or too many, too long or too deep filters in one watch.',
  },
  REQUEST_TIMEOUT: {
    http: 408,
    ws: 4408,
    summary: 'The request headers or body did not arrive in time; the connection is closed.',
  },
  RATE_LIMITED: {
    http: 429,
    ws: 4429,
    summary:
      'Too many requests, connections or failed attempts from this caller; retry after the delay given.',
  },

  // Pushed revocation (issue 12): the auth service's revocation list names this token.
  TOKEN_REVOKED: {
    http: 401,
    ws: 4401,
    summary: 'The token was revoked: by its jti, or its service was revoked or its secret rotated.',
  },

  // MQTT clients of a broker (issue 12): each refusal is also counted by reason.
  ANONYMOUS_REFUSED: {
    http: 401,
    ws: 4401,
    summary: 'The MQTT client sent no credentials, and this broker takes no anonymous clients.',
  },
  AUTH_UNAVAILABLE: {
    http: 503,
    ws: 1013,
    summary: "The auth service could not be asked to check a client's secret; try again later.",
  },
  PACKET_TOO_LARGE: {
    http: 413,
    ws: 1009,
    summary: 'The MQTT packet exceeds the broker limit; the connection is closed unread.',
  },
  RETAINED_LIMIT_EXCEEDED: {
    http: 409,
    ws: 4409,
    summary: 'The retained message would exceed the per-client or per-broker retained bound.',
  },
  INFLIGHT_LIMIT_EXCEEDED: {
    http: 409,
    ws: 4409,
    summary: 'The client holds as many unacknowledged QoS 1/2 deliveries as allowed.',
  },
  CLIENT_SUBSCRIPTIONS_EXCEEDED: {
    http: 409,
    ws: 4409,
    summary: 'The MQTT client holds as many subscribed filters as allowed.',
  },

  // Auth provisioning from secret files (issue 14): the auth service refuses to start on it.
  PROVISION_INVALID: {
    http: 400,
    ws: 4400,
    summary:
      'The provisioning manifest, or a secret file it names, is missing, unreadable or invalid.',
  },
} as const satisfies Record<string, { http: number; ws: number; summary: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** The JSON body of every error answer, over HTTP and in WebSocket error frames. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** On a refusal for a size limit (TOPIC_LIMIT_EXCEEDED): which limit, and its value. */
  limit?: ErrorLimit;
}

/**
 * The limit a request went over, so the caller can fit under it instead of retrying the same
 * request. [design] A number in the message would serve people; a program needs a field.
 */
export interface ErrorLimit {
  /** Which of the service's limits: `topics` or `interest` for discovery's per-broker caps. */
  name: string;
  /** The most the limit allows. */
  max: number;
}

/** An error with a stable code from the catalogue. Throw it anywhere; the edges translate it. */
export class MqfedError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string = errorCatalogue[code].summary, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'MqfedError';
    this.code = code;
  }

  get httpStatus(): number {
    return errorCatalogue[this.code].http;
  }

  get wsCloseCode(): number {
    return errorCatalogue[this.code].ws;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

/** A refusal for a size limit, naming the limit and its value (`ErrorBody.limit`). */
export class LimitError extends MqfedError {
  readonly limit: ErrorLimit;

  constructor(code: ErrorCode, message: string, limit: ErrorLimit) {
    super(code, message);
    this.limit = limit;
  }

  override toBody(): ErrorBody {
    return { ...super.toBody(), limit: this.limit };
  }
}

/** A well-formed `limit`: a short lowercase name (a log field) and a positive safe integer. */
const errorLimitSchema = z.object({
  name: z.string().regex(/^[a-z][a-z-]{0,31}$/),
  max: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});

/**
 * The `limit` of an error body from another service, when it is well-formed (`errorLimitSchema`).
 * Anything else is ignored, as an error without one.
 */
export function errorLimitOf(body: unknown): ErrorLimit | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const parsed = errorLimitSchema.safeParse((body as { limit?: unknown }).limit);
  return parsed.success ? parsed.data : undefined;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalogue, value);
}

/** Narrows anything thrown to an MqfedError; unknown failures become INTERNAL. */
export function toMqfedError(error: unknown): MqfedError {
  if (error instanceof MqfedError) return error;
  return new MqfedError('INTERNAL', errorCatalogue.INTERNAL.summary, error);
}
