import { build, type Histogram } from 'hdr-histogram-js';
import type { MqttClient } from 'mqtt';
import { encodeMessage, nowMs } from './payload.ts';

export interface PublishSchedule {
  /** Messages per second. */
  rate: number;
  /** Messages to send, numbered 0 .. count-1. */
  count: number;
  /** When message 0 is due (ms, `nowMs` clock); message i is due at start + i / rate. */
  startMs: number;
  runId: number;
  topic: string;
}

export interface PublishStats {
  sent: number;
  /** How far behind schedule the sends went, ms: p99 and max over the timer ticks. */
  lagP99Ms: number;
  lagMaxMs: number;
}

const QOS0 = { qos: 0 } as const;

/**
 * An open-loop publisher: message i is due at a fixed time whatever happened to the messages
 * before it, and carries that scheduled time. [design §4] A timer tick sends every message that
 * has come due since the last tick, so high rates go out in batches (a tick is about 1 ms) and a
 * late tick sends more rather than shifting the schedule: lateness lands in the measured delay,
 * never hidden by it (no coordinated omission).
 */
export class OpenLoopPublisher {
  readonly #client: MqttClient;
  readonly #schedule: PublishSchedule;
  readonly #intervalMs: number;
  /** Lag of each tick, µs. */
  readonly #lag: Histogram = build({ numberOfSignificantValueDigits: 2 });
  #sent = 0;
  #timer: NodeJS.Timeout | undefined;
  #finished: (() => void) | undefined;

  constructor(client: MqttClient, schedule: PublishSchedule) {
    this.#client = client;
    this.#schedule = schedule;
    this.#intervalMs = 1000 / schedule.rate;
  }

  get sent(): number {
    return this.#sent;
  }

  /** Sends the whole schedule (or until `stop`); resolves once the last message went out. */
  run(): Promise<PublishStats> {
    return new Promise((resolve) => {
      this.#finished = () =>
        resolve({
          sent: this.#sent,
          lagP99Ms: this.#lag.getValueAtPercentile(99) / 1000,
          lagMaxMs: this.#lag.maxValue / 1000,
        });
      this.#wait();
    });
  }

  /** Stops early: the run was already decided (too slow to pass). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#finish();
  }

  #tick(): void {
    const { count, startMs, runId, topic } = this.#schedule;
    const now = nowMs();
    const due = Math.min(count, Math.floor((now - startMs) / this.#intervalMs) + 1);
    if (due > this.#sent) {
      this.#lag.recordValue(Math.round((now - this.#dueAt(this.#sent)) * 1000));
    }
    for (let seq = this.#sent; seq < due; seq++) {
      const scheduledMs = this.#dueAt(seq);
      this.#client.publish(topic, encodeMessage({ kind: 'data', runId, seq, scheduledMs }), QOS0);
    }
    this.#sent = Math.max(this.#sent, due);
    if (this.#sent >= count) this.#finish();
    else this.#wait();
  }

  #wait(): void {
    const untilNext = this.#dueAt(this.#sent) - nowMs();
    // Node runs a timer no sooner than 1 ms; at high rates each tick sends a batch.
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, Math.floor(untilNext)));
  }

  #dueAt(seq: number): number {
    return this.#schedule.startMs + seq * this.#intervalMs;
  }

  #finish(): void {
    const finished = this.#finished;
    this.#finished = undefined;
    finished?.();
  }
}
