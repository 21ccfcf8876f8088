import { decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { ClockReading } from './clock-exchange.ts';

/**
 * The client seam: what a topology and the workload agree on about simulated clients, and
 * nothing else. [design] The workload makes clients through a ClientFactory; a topology that
 * runs client hosts of its own (containers) hands out factories whose clients live there. Both
 * import this file, neither imports the other.
 */

export interface PublisherSchedule {
  runId: number;
  /** This publisher's index within the run; it travels in every message. */
  publisher: number;
  /** Messages per second. */
  rate: number;
  /** Messages to send, numbered 0 .. count-1. */
  count: number;
  /** When message 0 is due (`nowMs` clock); message n is due at startMs + n / rate. */
  startMs: number;
  /** Message n goes to topics[n % topics.length]. */
  topics: readonly string[];
  qos: 0 | 1;
  payloadBytes: number;
  /**
   * Messages due before this are sent but left out of the lag histogram: the run's warm-up,
   * cut where the recorder cuts it. Unset: every message counts.
   */
  warmupEndMs?: number;
}

/** What a schedule's run did. */
export interface PublishReport {
  /** Messages whose time came and that were handed over (a closed connection drops them). */
  sent: number;
  /**
   * The publisher's own lateness, µs, one value per message due after the warm-up: when the
   * message was handed to its connection, ready for the socket write, minus when it was due.
   * It is part of every delay measured from the schedule.
   */
  lag: Histogram;
}

/** A publish report as it crosses a thread or a WebSocket: the lag histogram HDR-encoded. */
export interface EncodedPublishReport {
  sent: number;
  lag: string;
}

/**
 * What a publisher did with each message of its last schedule (publish-ledger.ts): the
 * sequence numbers it handed to its MQTT client, and at QoS 1 those the broker acknowledged
 * (null at QoS 0), each as sorted, flat [start, end) pairs.
 */
export interface PublishLedgerReport {
  handedOver: number[];
  acknowledged: number[] | null;
}

/**
 * A publish report as it crossed a thread or a WebSocket, with its histogram decoded, packed: a
 * run holds one per publisher until they are merged, a few KB each instead of ~68 KB.
 */
export function decodeReport(report: EncodedPublishReport): PublishReport {
  return { sent: report.sent, lag: decodeFromCompressedBase64(report.lag, 'packed') };
}

/** How a connection's MQTT handshake went, on the run's clock. */
export interface Handshake {
  /**
   * When the CONNECT packet was written: MQTT.js writes it as it opens the socket, so the time
   * to the CONNACK includes the TCP (and TLS) handshake.
   */
  connectSentMs: number;
  /** When its CONNACK arrived. */
  connackMs: number;
  /** The CONNACK's session present flag: the broker had a session for this client id. */
  sessionPresent: boolean;
}

/**
 * Every message, with the time it arrived (`nowMs` clock of the run) and its DUP flag (the
 * broker says it may have sent it before).
 */
export type MessageListener = (payload: Buffer, arrivalMs: number, dup: boolean) => void;

/** One subscriber's MQTT connection, wherever it runs. */
export interface SubscriberConnection {
  readonly connected: boolean;
  /** Its first handshake (an automatic reconnect's are not kept). */
  readonly handshake: Handshake;
  /**
   * Every message; those that came before a listener was set (a persistent session's queue,
   * right behind the CONNACK) are handed to it when it is set, with their own arrival times.
   */
  onMessage(listener: MessageListener): void;
  /** The connection going down (a broker crash) and up again (a reconnect). */
  onConnectionChange(listener: (connected: boolean) => void): void;
  subscribe(filters: readonly string[], qos: 0 | 1): Promise<void>;
  /** Ends it at once (no goodbye); no message reaches the listener after this is called. */
  end(): Promise<void>;
}

/** One publisher's MQTT connection, wherever it runs; the schedule runs where it is. */
export interface PublisherConnection {
  /** Sends one probe (QoS 0) to each topic: priming, before the schedule. */
  probe(topics: readonly string[], payload: Buffer): void;
  /**
   * Runs an open-loop schedule to its end (or to `end`); resolves with what was sent and the
   * publisher's lateness against the schedule.
   */
  run(schedule: PublisherSchedule): Promise<PublishReport>;
  /**
   * What its last schedule handed over and, at QoS 1, what was acknowledged so far: asked after
   * the drain, as PUBACKs of the last messages come after `run` has resolved.
   */
  ledger(): Promise<PublishLedgerReport>;
  end(): Promise<void>;
}

/** How a subscriber's MQTT session is kept. */
export interface SubscriberOptions {
  /** Connects again this long after losing its broker; unset, never. */
  reconnectMs?: number;
  /**
   * A persistent session (MQTT `clean: false`): the broker keeps its subscriptions and queues
   * its QoS 1 messages while it is away, and hands them over when it is back. Default: clean.
   */
  persistent?: boolean;
}

/**
 * Where simulated clients are made: in this process, or on a client host (a container) that the
 * harness drives. [design] The workload is written against this seam only, so a scenario runs
 * the same whether its client hosts are emulated in the harness or are containers of their own.
 */
export interface ClientFactory {
  /** For clients on another host: that host's clock against the harness's, as measured. */
  readonly clock?: { offsetMs: number; roundTripMs: number; errorBoundMs?: number };
  /** For clients on another host: reads its clock again (not correcting it), for drift. */
  remeasureClock?(): Promise<ClockReading>;
  subscriber(
    url: string,
    clientId: string,
    options?: SubscriberOptions,
  ): Promise<SubscriberConnection>;
  publisher(url: string, clientId: string, reconnectMs?: number): Promise<PublisherConnection>;
}
