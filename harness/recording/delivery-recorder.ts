import type { Histogram } from 'hdr-histogram-js';
import type { Variant } from '../results/index.ts';
import { scheduledAt } from '../workload/open-loop-publisher.ts';
import type { HarnessMessage } from '../workload/payload.ts';
import {
  delayHistogram,
  encodeHistogram,
  latencyOf,
  mergeHistograms,
  recordDelayMs,
} from './histogram.ts';
import { SeenSet } from './seen-set.ts';

export type PathName = 'same-broker' | 'cross-broker';
export type PhaseName = 'steady' | 'handover';
export const PATHS: readonly PathName[] = ['same-broker', 'cross-broker'];
export const PHASES: readonly PhaseName[] = ['steady', 'handover'];

/** A publisher as the recorder sees it: its broker and its schedule. */
export interface RecordedPublisher {
  /** The broker it is connected to (the physical one: the single-broker baseline maps all to one). */
  broker: string;
  startMs: number;
  rate: number;
  count: number;
  topicCount: number;
  /** The QoS it publishes at; default 0. */
  qos?: 0 | 1;
}

/** A subscriber as the recorder sees it: where it was when, and its moves. */
export interface RecordedSubscriber {
  brokerAt(timeMs: number): string;
  readonly moves: readonly { disconnectMs: number }[];
  /** 0 for a subscriber that never moves. */
  handoverWindowMs: number;
  /** How long before a move a message still counts in its handover window. */
  handoverLeadMs: number;
  /** The QoS it subscribed at; default 0. */
  qos?: 0 | 1;
  /**
   * Whether it had a session at `timeMs`, so that a message published then was owed to it.
   * [design] A clean-session client between brokers has none (MQTT owes it nothing then); a
   * persistent one always has one. Unset: always.
   */
  sessionAt?(timeMs: number): boolean;
}

/** Which of a publisher's topics (by index) a subscriber's filters match. */
export interface Expectation {
  subscriber: number;
  publisher: number;
  topicMatches: readonly boolean[];
}

/** One message one subscriber should have received. */
export interface ExpectedDelivery {
  subscriber: number;
  publisher: number;
  seq: number;
  scheduledMs: number;
  arrived: boolean;
  /** The QoS of the delivery: the lower of the publisher's and the subscriber's. */
  qos: 0 | 1;
  /** The subscriber had a session when the message was scheduled (`sessionAt`); unset: yes. */
  session?: boolean;
}

/** The counts and delays of one path × phase cell. */
interface Cell {
  histogram: Histogram;
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  reordered: number;
}

interface Tracker {
  seen: SeenSet;
  maxSeq: number;
  expectation: Expectation;
  qos: 0 | 1;
  /** Arrivals of a message this subscriber already had. */
  duplicates: number;
  /** Of those, the ones whose DUP flag was set. */
  flaggedDuplicates: number;
}

interface Second {
  sent: number;
  received: number;
  histogram: Histogram | undefined;
}

const cellKey = (path: PathName, phase: PhaseName) => `${path}/${phase}`;

/**
 * Counts and times every delivery of one variant run. A delivery is one message reaching one
 * subscriber whose filters match its topic; `sent` counts those expected deliveries (so with one
 * publisher and two subscribers, each message counts twice), and `received + lost = sent`.
 * [design] Each delivery is classified by where the subscriber was at the message's scheduled
 * time: path (same broker as the publisher, or another) and phase (within a handover window around
 * a move, or steady). Losses are found at the end, by walking every expected delivery, so a
 * lost message lands in the same cell an arrived one would have. Messages scheduled in the
 * warm-up are neither counted nor recorded.
 */
export class DeliveryRecorder {
  readonly #runId: number;
  readonly #publishers: readonly RecordedPublisher[];
  readonly #subscribers: readonly RecordedSubscriber[];
  readonly #scheduleStartMs: number;
  readonly #warmupEndMs: number;
  readonly #trackers = new Map<number, Tracker>();
  readonly #cells = new Map<string, Cell>();
  readonly #seconds: Second[] = [];
  readonly #probes = new Set<number>();
  /** Run messages that reached a subscriber that did not expect them (a filter bug). */
  strays = 0;
  /** Deliveries recorded so far (for progress). */
  recorded = 0;

  constructor(options: {
    runId: number;
    publishers: readonly RecordedPublisher[];
    subscribers: readonly RecordedSubscriber[];
    expectations: readonly Expectation[];
    scheduleStartMs: number;
    warmupEndMs: number;
  }) {
    this.#runId = options.runId;
    this.#publishers = options.publishers;
    this.#subscribers = options.subscribers;
    this.#scheduleStartMs = options.scheduleStartMs;
    this.#warmupEndMs = options.warmupEndMs;
    for (const expectation of options.expectations) {
      const publisher = this.#publishers[expectation.publisher]!;
      const subscriber = this.#subscribers[expectation.subscriber]!;
      const { topicMatches } = expectation;
      // What this subscriber can receive of this publisher and is recorded: its topics, after
      // the warm-up (the very cut `record` makes, by the publisher's own schedule formula).
      const expected = (seq: number) =>
        topicMatches[seq % publisher.topicCount] === true &&
        scheduledAt(publisher, seq) >= this.#warmupEndMs;
      this.#trackers.set(this.#key(expectation.subscriber, expectation.publisher), {
        seen: new SeenSet(publisher.count, expected),
        maxSeq: -1,
        expectation,
        qos: Math.min(publisher.qos ?? 0, subscriber.qos ?? 0) as 0 | 1,
        duplicates: 0,
        flaggedDuplicates: 0,
      });
    }
    for (const path of PATHS) {
      for (const phase of PHASES) {
        this.#cells.set(cellKey(path, phase), {
          histogram: delayHistogram(),
          sent: 0,
          received: 0,
          lost: 0,
          duplicates: 0,
          reordered: 0,
        });
      }
    }
  }

  #key(subscriber: number, publisher: number): number {
    return subscriber * this.#publishers.length + publisher;
  }

  /** Has a probe of `publisher` reached `subscriber`? Priming waits for this before the schedule. */
  probed(subscriber: number, publisher: number): boolean {
    return this.#probes.has(this.#key(subscriber, publisher));
  }

  record = (subscriber: number, message: HarnessMessage, arrivalMs: number, dup = false): void => {
    if (message.runId !== this.#runId) return;
    if (message.probe) {
      this.#probes.add(this.#key(subscriber, message.publisher));
      return;
    }
    if (message.scheduledMs < this.#warmupEndMs) return;
    const tracker = this.#trackers.get(this.#key(subscriber, message.publisher));
    const publisher = this.#publishers[message.publisher];
    if (
      tracker === undefined ||
      publisher === undefined ||
      !Number.isInteger(message.seq) ||
      message.seq >= publisher.count ||
      // A message of a topic the subscriber does not match reached it: a filter bug.
      tracker.expectation.topicMatches[message.seq % publisher.topicCount] !== true
    ) {
      this.strays += 1;
      return;
    }
    const cell = this.#cellFor(subscriber, message.publisher, message.scheduledMs);
    if (!tracker.seen.add(message.seq)) {
      cell.duplicates += 1;
      tracker.duplicates += 1;
      if (dup) tracker.flaggedDuplicates += 1;
      return;
    }
    if (message.seq < tracker.maxSeq) cell.reordered += 1;
    else tracker.maxSeq = message.seq;
    const delayMs = arrivalMs - message.scheduledMs;
    recordDelayMs(cell.histogram, delayMs);
    const second = this.#second(arrivalMs);
    second.received += 1;
    second.histogram ??= delayHistogram(2);
    recordDelayMs(second.histogram, delayMs);
    this.recorded += 1;
  };

  #cellFor(subscriber: number, publisher: number, scheduledMs: number): Cell {
    const sub = this.#subscribers[subscriber]!;
    const path: PathName =
      sub.brokerAt(scheduledMs) === this.#publishers[publisher]!.broker
        ? 'same-broker'
        : 'cross-broker';
    let phase: PhaseName = 'steady';
    if (sub.handoverWindowMs > 0) {
      for (const move of sub.moves) {
        if (
          scheduledMs >= move.disconnectMs - sub.handoverLeadMs &&
          scheduledMs < move.disconnectMs + sub.handoverWindowMs
        ) {
          phase = 'handover';
          break;
        }
      }
    }
    return this.#cells.get(cellKey(path, phase))!;
  }

  #second(timeMs: number): Second {
    const index = Math.max(0, Math.floor((timeMs - this.#scheduleStartMs) / 1000));
    while (this.#seconds.length <= index) {
      this.#seconds.push({ sent: 0, received: 0, histogram: undefined });
    }
    return this.#seconds[index]!;
  }

  /**
   * Walks every expected delivery after the warm-up: counted as received if it arrived, lost if
   * not. Call once, after the drain.
   */
  finish(): void {
    this.forEachDelivery(({ subscriber, publisher, scheduledMs, arrived }) => {
      const cell = this.#cellFor(subscriber, publisher, scheduledMs);
      cell.sent += 1;
      this.#second(scheduledMs).sent += 1;
      if (arrived) cell.received += 1;
      else cell.lost += 1;
    });
  }

  /**
   * Visits every expected delivery scheduled after the warm-up, in publisher order per pair, with
   * whether it arrived (so far: call it after the drain). Losses and fault impact are walks of this.
   */
  forEachDelivery(visit: (delivery: ExpectedDelivery) => void): void {
    for (const tracker of this.#trackers.values()) {
      const { subscriber, publisher, topicMatches } = tracker.expectation;
      const { qos } = tracker;
      const pub = this.#publishers[publisher]!;
      const sessionAt = this.#subscribers[subscriber]!.sessionAt ?? (() => true);
      const firstSeq = Math.max(
        0,
        Math.floor(((this.#warmupEndMs - pub.startMs) * pub.rate) / 1000),
      );
      for (let seq = firstSeq; seq < pub.count; seq++) {
        if (!topicMatches[seq % pub.topicCount]) continue;
        // The very formula the publisher used, so the warm-up cut falls on the same message.
        const scheduledMs = scheduledAt(pub, seq);
        // firstSeq may be one early (rounding); skip it exactly as `record` does.
        if (scheduledMs < this.#warmupEndMs) continue;
        visit({
          subscriber,
          publisher,
          seq,
          scheduledMs,
          arrived: tracker.seen.has(seq),
          qos,
          session: sessionAt(scheduledMs),
        });
      }
    }
  }

  /** Arrivals of a message a subscriber already had, per QoS of the delivery. */
  duplicatesByQos(): Record<0 | 1, number> {
    const total: Record<0 | 1, number> = { 0: 0, 1: 0 };
    for (const tracker of this.#trackers.values()) total[tracker.qos] += tracker.duplicates;
    return total;
  }

  /** Arrivals of messages `subscriber` already had, with and without the DUP flag. */
  duplicatesOf(subscriber: number): { flagged: number; unflagged: number } {
    let flagged = 0;
    let all = 0;
    for (const tracker of this.#trackers.values()) {
      if (tracker.expectation.subscriber !== subscriber) continue;
      flagged += tracker.flaggedDuplicates;
      all += tracker.duplicates;
    }
    return { flagged, unflagged: all - flagged };
  }

  /** The QoS each publisher publishes at, and the first of its messages after the warm-up. */
  publisherOf(index: number): { qos: 0 | 1; firstMeasured: number; count: number } {
    const pub = this.#publishers[index]!;
    let first = Math.max(0, Math.floor(((this.#warmupEndMs - pub.startMs) * pub.rate) / 1000));
    while (first < pub.count && scheduledAt(pub, first) < this.#warmupEndMs) first++;
    return { qos: pub.qos ?? 0, firstMeasured: Math.min(first, pub.count), count: pub.count };
  }

  /** The histogram of one path (both phases) or one phase (both paths), or of everything. */
  histogramOf(filter: { path?: PathName; phase?: PhaseName } = {}): Histogram {
    return mergeHistograms(this.#select(filter).map((cell) => cell.histogram));
  }

  #select(filter: { path?: PathName; phase?: PhaseName }): Cell[] {
    const cells: Cell[] = [];
    for (const path of PATHS) {
      for (const phase of PHASES) {
        if (filter.path !== undefined && filter.path !== path) continue;
        if (filter.phase !== undefined && filter.phase !== phase) continue;
        cells.push(this.#cells.get(cellKey(path, phase))!);
      }
    }
    return cells;
  }

  /** Counts, latency and encoded histogram of a selection of cells, as the results carry them. */
  summary(filter: { path?: PathName; phase?: PhaseName } = {}) {
    const cells = this.#select(filter);
    const histogram = mergeHistograms(cells.map((cell) => cell.histogram));
    const sum = (field: 'sent' | 'received' | 'lost' | 'duplicates' | 'reordered') =>
      cells.reduce((total, cell) => total + cell[field], 0);
    return {
      latencyMs: latencyOf(histogram),
      sent: sum('sent'),
      received: sum('received'),
      lost: sum('lost'),
      duplicates: sum('duplicates'),
      reordered: sum('reordered'),
      histogram: encodeHistogram(histogram),
    };
  }

  /** One point per second since the schedule began, from the end of the warm-up on. */
  timeline(): Variant['timeline'] {
    const firstSecond = Math.floor((this.#warmupEndMs - this.#scheduleStartMs) / 1000);
    return this.#seconds.slice(firstSecond).map((second, offset) => {
      const point: Variant['timeline'][number] = {
        tMs: (firstSecond + offset) * 1000,
        sent: second.sent,
        received: second.received,
      };
      if (second.histogram !== undefined && second.histogram.totalCount > 0) {
        point.p50Ms = second.histogram.getValueAtPercentile(50) / 1000;
        point.p99Ms = second.histogram.getValueAtPercentile(99) / 1000;
      }
      return point;
    });
  }
}
