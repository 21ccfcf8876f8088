import type { ClientRefusalReason } from './mqtt-client-refusals.ts';

/** What one MQTT client, and all of them together, may hold or send (broker options). */
export interface ClientLimits {
  /** Largest MQTT packet, fixed header included; a bigger one closes the connection unread. */
  readonly maxPacketBytes: number;
  /** Retained messages one client (by registered id; anonymous: by client id) may own. */
  readonly maxRetainedPerClient: number;
  readonly maxRetainedBytesPerClient: number;
  /** Retained messages of all local clients together. */
  readonly maxRetained: number;
  readonly maxRetainedBytes: number;
  /** QoS 1/2 deliveries a client has not acknowledged yet; more are skipped for it. */
  readonly maxInflightPerClient: number;
  /** PUBLISH packets per second one connection may send, with bursts of as many. */
  readonly publishRate: number;
  /** Filters one connection may hold subscribed. */
  readonly maxSubscriptionsPerClient: number;
}

interface RetainedEntry {
  readonly owner: string;
  readonly bytes: number;
}

interface Holding {
  messages: number;
  bytes: number;
}

/**
 * Who owns which retained message, so a client's retained messages and the broker's are
 * bounded in number and bytes. [design] The owner of a topic's retained message is whoever
 * retained on it last; clearing it (an empty retained payload) frees its share. Bytes are the
 * topic's and the payload's. Retained messages found in the data directory at start count
 * toward the broker's bound, owned by nobody.
 */
export class RetainedLedger {
  readonly #limits: ClientLimits;
  readonly #topics = new Map<string, RetainedEntry>();
  readonly #owners = new Map<string, Holding>();
  readonly #total: Holding = { messages: 0, bytes: 0 };

  constructor(limits: ClientLimits) {
    this.#limits = limits;
  }

  /** Why retaining `payloadBytes` on `topic` for `owner` is refused, or undefined. */
  check(owner: string, topic: string, payloadBytes: number): ClientRefusalReason | undefined {
    if (payloadBytes === 0) return undefined;
    const bytes = sizeOf(topic, payloadBytes);
    const old = this.#topics.get(topic);
    const held = this.#owners.get(owner) ?? { messages: 0, bytes: 0 };
    const own = old?.owner === owner ? old : undefined;
    const limits = this.#limits;
    if (
      held.messages + (own === undefined ? 1 : 0) > limits.maxRetainedPerClient ||
      held.bytes - (own?.bytes ?? 0) + bytes > limits.maxRetainedBytesPerClient
    ) {
      return 'retained_client';
    }
    if (
      this.#total.messages + (old === undefined ? 1 : 0) > limits.maxRetained ||
      this.#total.bytes - (old?.bytes ?? 0) + bytes > limits.maxRetainedBytes
    ) {
      return 'retained_broker';
    }
    return undefined;
  }

  /**
   * Why retaining `payloadBytes` on `topic` would break the broker-wide bounds, or undefined:
   * the check for retained messages from peers, which no client owns.
   */
  checkBroker(topic: string, payloadBytes: number): ClientRefusalReason | undefined {
    if (payloadBytes === 0) return undefined;
    const old = this.#topics.get(topic);
    const limits = this.#limits;
    if (
      this.#total.messages + (old === undefined ? 1 : 0) > limits.maxRetained ||
      this.#total.bytes - (old?.bytes ?? 0) + sizeOf(topic, payloadBytes) > limits.maxRetainedBytes
    ) {
      return 'retained_broker';
    }
    return undefined;
  }

  /** Records a retained PUBLISH the broker accepted (an empty payload clears the topic). */
  commit(owner: string, topic: string, payloadBytes: number): void {
    const old = this.#topics.get(topic);
    if (old !== undefined) {
      this.#topics.delete(topic);
      this.#release(old.owner, old.bytes);
    }
    if (payloadBytes === 0) return;
    const bytes = sizeOf(topic, payloadBytes);
    this.#topics.set(topic, { owner, bytes });
    let held = this.#owners.get(owner);
    if (held === undefined) {
      held = { messages: 0, bytes: 0 };
      this.#owners.set(owner, held);
    }
    held.messages += 1;
    held.bytes += bytes;
    this.#total.messages += 1;
    this.#total.bytes += bytes;
  }

  /** A retained message found in the store at start: the broker's, nobody's in particular. */
  seed(topic: string, payloadBytes: number): void {
    this.commit('', topic, payloadBytes);
  }

  totals(): { messages: number; bytes: number } {
    return { ...this.#total };
  }

  #release(owner: string, bytes: number): void {
    const held = this.#owners.get(owner);
    if (held !== undefined) {
      held.messages -= 1;
      held.bytes -= bytes;
      if (held.messages === 0) this.#owners.delete(owner);
    }
    this.#total.messages -= 1;
    this.#total.bytes -= bytes;
  }
}

function sizeOf(topic: string, payloadBytes: number): number {
  return Buffer.byteLength(topic) + payloadBytes;
}

/**
 * A token bucket of `rate` tokens per second holding at most `rate`. [design] A PUBLISH over
 * the rate is not dropped (MQTT 3.1.1 cannot tell the client) but held until its token is due:
 * aedes reads no more from a client while a publish of it is pending, so TCP backpressure
 * slows the client down, as EMQX and HiveMQ throttle.
 */
export class PublishBucket {
  readonly #rate: number;
  #tokens: number;
  #at: number;

  constructor(rate: number, now: number) {
    this.#rate = rate;
    this.#tokens = rate;
    this.#at = now;
  }

  /** Takes a token: 0 when one was there, else how many ms until the one reserved is due. */
  take(now: number): number {
    const elapsed = Math.max(0, now - this.#at);
    this.#at = now;
    this.#tokens = Math.min(this.#rate, this.#tokens + (elapsed * this.#rate) / 1000);
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#rate);
  }
}
