import {
  type ClientFactory,
  localClients,
  type SubscriberConnection,
} from './client-connection.ts';
import { withRetries } from './mqtt-connect.ts';
import { decodeMessage, type HarnessMessage, nowMs } from './payload.ts';

/**
 * Where a subscriber's messages go: the recorder classifies and counts them. `dup` is the
 * message's DUP flag (the broker may have sent it before).
 */
export type ArrivalSink = (
  subscriber: number,
  message: HarnessMessage,
  arrivalMs: number,
  dup: boolean,
) => void;

/**
 * A move of a mobile subscriber, from disconnect at the old broker to its first message at the
 * new. Times are on the `nowMs` clock; the handshake's are set once the new broker answered.
 */
export interface Move {
  client: string;
  from: string;
  to: string;
  /** When it disconnected from `from`. */
  disconnectMs: number;
  /** When its CONNECT to `to` was written, and when the CONNACK came (of the last attempt). */
  connectSentMs?: number;
  connackMs?: number;
  /** The CONNACK's session present flag at `to`. */
  sessionPresent?: boolean;
  /**
   * When it could receive again: the CONNACK for a session the broker had, else the SUBACK of
   * its subscribing again (a clean session always subscribes).
   */
  readyMs?: number;
  /** Its first message on the new connection, if one arrived. */
  firstMessageMs?: number;
}

export interface SubscriberSpec {
  /** Index within the run, carried to the sink. */
  index: number;
  /** `<group>-<i>`; also the base of its MQTT client id. */
  id: string;
  filters: readonly string[];
  qos: 0 | 1;
  /** The host it sits on, when the scenario declares a network. */
  host?: string;
  /** Connects again this long after losing its broker (fault scenarios); unset, never. */
  reconnectMs?: number;
  /**
   * A persistent MQTT session (`clean: false`): the broker queues its QoS 1 messages while it
   * is away (variant-plan.ts says which subscribers get one).
   */
  persistent?: boolean;
}

/**
 * A simulated subscriber: one MQTT.js connection subscribed to its filters. A mobile one `moveTo`s
 * another broker: it disconnects (abruptly, no DISCONNECT: a phone leaving a cell does not say
 * goodbye) and connects to the new broker. With a clean session it subscribes again, as a phone
 * changing cells would. With a persistent one (`spec.persistent`) it keeps one client id for the
 * run, subscribes once, at its first connect, and afterwards relies on the session following it:
 * a CONNACK without session present after a move is counted (`sessionsLost`) and only then does
 * it subscribe again, so that the run goes on. [design] The broker it is on is recorded as a list
 * of segments starting at each disconnect, so a message can be classified by where the
 * subscriber was at the message's scheduled time, whether it arrived or was lost.
 */
export class SimulatedSubscriber {
  readonly spec: SubscriberSpec;
  readonly #sink: ArrivalSink;
  readonly #clientIdPrefix: string;
  readonly #clients: () => ClientFactory;
  #client: SubscriberConnection | undefined;
  #broker: string;
  #connections = 0;
  /** (from time, broker): the broker the subscriber is on, or moving to, from that time. */
  readonly segments: { fromMs: number; broker: string }[] = [];
  readonly moves: Move[] = [];
  /** CONNACKs after a move, of a persistent subscriber, that said the session was not there. */
  sessionsLost = 0;
  #subscribed = false;
  #moving: Promise<void> | undefined;

  /** `clients` says where its connections are made (asked at each connect); default here. */
  constructor(
    spec: SubscriberSpec,
    broker: string,
    sink: ArrivalSink,
    clientIdPrefix: string,
    clients: () => ClientFactory = () => localClients,
  ) {
    this.spec = spec;
    this.#clients = clients;
    this.#sink = sink;
    this.#broker = broker;
    this.#clientIdPrefix = clientIdPrefix;
    this.segments.push({ fromMs: 0, broker });
  }

  get broker(): string {
    return this.#broker;
  }

  /** Has a live connection (false while moving, or after a connect that failed). */
  get connected(): boolean {
    return this.#client?.connected === true;
  }

  get moving(): boolean {
    return this.#moving !== undefined;
  }

  /** The broker the subscriber was on (or moving to) at `timeMs`. */
  brokerAt(timeMs: number): string {
    let broker = this.segments[0]!.broker;
    for (const segment of this.segments) {
      if (segment.fromMs > timeMs) break;
      broker = segment.broker;
    }
    return broker;
  }

  /**
   * Whether it had an MQTT session at `timeMs`, so that a message published then was owed to it:
   * a persistent subscriber always (its session outlives its connections); a clean one except
   * between a move's disconnect and the moment it could receive again at the new broker.
   */
  sessionAt(timeMs: number): boolean {
    if (this.spec.persistent === true) return true;
    for (const move of this.moves) {
      if (timeMs >= move.disconnectMs && timeMs < (move.readyMs ?? Number.POSITIVE_INFINITY)) {
        return false;
      }
    }
    return true;
  }

  async connect(url: string): Promise<void> {
    const move = this.moves.at(-1);
    this.#connections += 1;
    const { reconnectMs, persistent } = this.spec;
    // A clean session gets a fresh client id per connection: the old session may still be
    // closing at the old broker. A persistent one keeps one id for the run, as the session is
    // found by it (MQTT.js reconnects under it too).
    const clientId =
      persistent === true
        ? `${this.#clientIdPrefix}${this.spec.id}`
        : `${this.#clientIdPrefix}${this.spec.id}-${this.#connections}`;
    const open = () =>
      this.#clients().subscriber(url, clientId, {
        ...(reconnectMs === undefined ? {} : { reconnectMs }),
        ...(persistent === true ? { persistent } : {}),
      });
    // The first connect is retried (a crowd's connect storm, withRetries); a move's is not: its
    // failure is the move's, and the mobility model asks again.
    const client = await (move === undefined ? withRetries(open) : open());
    const first = move?.firstMessageMs === undefined ? move : undefined;
    client.onMessage((payload, arrivalMs, dup) => {
      const message = decodeMessage(payload);
      if (message === undefined) return;
      if (first !== undefined && first.firstMessageMs === undefined)
        first.firstMessageMs = arrivalMs;
      this.#sink(this.spec.index, message, arrivalMs, dup);
    });
    this.#client = client;
    const { connectSentMs, connackMs, sessionPresent } = client.handshake;
    if (move !== undefined) {
      move.connectSentMs = connectSentMs;
      move.connackMs = connackMs;
      move.sessionPresent = sessionPresent;
    }
    const owned = persistent === true && this.#subscribed;
    if (owned && sessionPresent) {
      if (move !== undefined) move.readyMs = connackMs;
      return;
    }
    // A persistent subscriber that moved expected its session at the new broker.
    if (owned && move !== undefined) this.sessionsLost += 1;
    await client.subscribe(this.spec.filters, this.spec.qos);
    this.#subscribed = true;
    if (move !== undefined) move.readyMs = nowMs();
  }

  /**
   * Leaves the broker it is on and connects to the same one again: a same-broker handover,
   * counted as a move from it to itself. Resolves once it can receive again.
   */
  rejoin(url: string): Promise<void> | undefined {
    return this.#move(this.#broker, url);
  }

  /**
   * Leaves the current broker and joins `broker` at `url`. Resolves once subscribed there; a second
   * move while one is under way is refused (the model asks again on its next tick). A move whose
   * connect failed is retried by asking for the same broker again.
   */
  moveTo(broker: string, url: string): Promise<void> | undefined {
    if (this.#moving !== undefined) return undefined;
    if (broker === this.#broker) {
      // Already there, unless the connect of the last move failed (the broker was down): then
      // try again, as a phone would, without counting another move.
      if (this.#client !== undefined) return undefined;
      this.#moving = this.connect(url).finally(() => {
        this.#moving = undefined;
      });
      return this.#moving;
    }
    return this.#move(broker, url);
  }

  #move(broker: string, url: string): Promise<void> | undefined {
    if (this.#moving !== undefined) return undefined;
    const disconnectMs = nowMs();
    this.moves.push({ client: this.spec.id, from: this.#broker, to: broker, disconnectMs });
    this.segments.push({ fromMs: disconnectMs, broker });
    this.#broker = broker;
    const old = this.#client;
    this.#client = undefined;
    this.#moving = (async () => {
      try {
        // A phone leaving a cell does not say goodbye politely, but a forced end is what the old
        // broker sees as a dropped connection either way; no further message reaches the sink.
        await old?.end();
        await this.connect(url);
      } finally {
        this.#moving = undefined;
      }
    })();
    return this.#moving;
  }

  /** Waits for a move under way, so closing does not race a connect. */
  async settle(): Promise<void> {
    await this.#moving?.catch(() => {});
  }

  async close(): Promise<void> {
    await this.settle();
    const client = this.#client;
    this.#client = undefined;
    await client?.end();
  }
}
