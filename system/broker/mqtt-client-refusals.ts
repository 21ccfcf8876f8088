import { type ErrorCode, MqfedError } from '../protocol/index.ts';

/**
 * Why a broker refused (or, for `rate`, slowed down) something an MQTT client did: the fixed
 * label set of `mqfed_broker_client_refusals_total`, each with the stable code its log line
 * carries. [design] Labels come from this list only, never from client input.
 */
export const clientRefusalCodes = {
  /** CONNACK 4: unknown id, wrong secret, or a token that does not verify. */
  bad_credentials: 'CLIENT_CREDENTIALS_INVALID',
  /** CONNACK 5: a valid token of another role (a broker's or discovery's token). */
  not_client: 'ROLE_FORBIDDEN',
  /** CONNACK 2: the MQTT client id is not the client's own (docs/protocol.md). */
  client_id: 'IDENTITY_MISMATCH',
  /** CONNACK 5: no credentials, and this broker does not take anonymous clients. */
  anonymous: 'ANONYMOUS_REFUSED',
  /** CONNACK 3: the auth service or its keys could not be reached to check a password. */
  auth_unavailable: 'AUTH_UNAVAILABLE',
  /** CONNACK 5: the will's topic is outside the client's pub scope. */
  will_scope: 'SCOPE_DENIED',
  /** A PUBLISH outside the pub scope (or on `$SYS`): the connection is closed. */
  pub_scope: 'SCOPE_DENIED',
  /** A SUBSCRIBE filter outside the sub scope: SUBACK 0x80 for that filter. */
  sub_scope: 'SCOPE_DENIED',
  /** A packet over the size limit: the connection is closed before the packet is read. */
  packet_size: 'PACKET_TOO_LARGE',
  /** A retained PUBLISH over the client's retained count or bytes: the connection is closed. */
  retained_client: 'RETAINED_LIMIT_EXCEEDED',
  /** A retained PUBLISH over the broker's retained count or bytes: the connection is closed. */
  retained_broker: 'RETAINED_LIMIT_EXCEEDED',
  /** A QoS 1/2 delivery to a client holding as many unacknowledged ones as allowed: skipped. */
  inflight: 'INFLIGHT_LIMIT_EXCEEDED',
  /** A PUBLISH over the client's rate: held back until its token bucket refills (not dropped). */
  rate: 'RATE_LIMITED',
  /** A SUBSCRIBE beyond the client's number of filters: SUBACK 0x80 for that filter. */
  subscriptions: 'CLIENT_SUBSCRIPTIONS_EXCEEDED',
  /**
   * CONNACK 3: the broker holds `maxClients` connections already. [design] The code of a holder
   * that holds as many sessions as allowed, which a connected MQTT client is.
   */
  max_clients: 'CLIENT_LIMIT_EXCEEDED',
} as const satisfies Record<string, ErrorCode>;

export type ClientRefusalReason = keyof typeof clientRefusalCodes;
export const clientRefusalReasons = Object.keys(clientRefusalCodes) as ClientRefusalReason[];

/** MQTT 3.1.1 CONNACK return codes a refused CONNECT carries. */
const connackCodes: Partial<Record<ClientRefusalReason, 2 | 3 | 4 | 5>> = {
  bad_credentials: 4,
  not_client: 5,
  client_id: 2,
  anonymous: 5,
  auth_unavailable: 3,
  will_scope: 5,
  // Server unavailable: MQTT 3.1.1 has no "quota exceeded" (MQTT 5's 0x97), and aedes speaks
  // only 3.1 and 3.1.1.
  max_clients: 3,
};

/**
 * A refusal: an MqfedError with the reason's stable code, and the CONNACK return code aedes
 * sends when it refuses a CONNECT (aedes reads `returnCode`).
 */
export class ClientRefusal extends MqfedError {
  readonly reason: ClientRefusalReason;
  readonly returnCode: number;

  constructor(reason: ClientRefusalReason, message?: string) {
    super(clientRefusalCodes[reason], message);
    this.reason = reason;
    this.returnCode = connackCodes[reason] ?? 5;
  }
}
