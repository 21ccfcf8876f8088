import type { MqttClient } from 'mqtt';
import { encodeMessage, nowMs } from './payload.ts';

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
}

/** When message `seq` of a schedule is due. Shared with the recorder, which needs the same times. */
export function scheduledAt(schedule: Pick<PublisherSchedule, 'startMs' | 'rate'>, seq: number) {
  return schedule.startMs + (seq * 1000) / schedule.rate;
}

/**
 * An open-loop publisher: message n is due at a fixed time whatever happened to the messages
 * before it, and carries that scheduled time (design §4). A timer tick sends every message that
 * has come due since the last tick, so a late tick (a busy event loop, a slow broker) sends more
 * rather than shifting the schedule: the lateness shows in the measured delay instead of being
 * hidden by it. That is what "no coordinated omission" means here, so no after-the-fact
 * correction of the histogram is needed.
 */
export class OpenLoopPublisher {
  readonly #client: MqttClient;
  readonly #schedule: PublisherSchedule;
  #sent = 0;
  #timer: NodeJS.Timeout | undefined;
  #done: (() => void) | undefined;

  constructor(client: MqttClient, schedule: PublisherSchedule) {
    this.#client = client;
    this.#schedule = schedule;
  }

  get sent(): number {
    return this.#sent;
  }

  /** Sends the whole schedule (or until `stop`); resolves once the last message was handed over. */
  run(): Promise<void> {
    return new Promise((resolve) => {
      this.#done = resolve;
      if (this.#schedule.count === 0) this.#finish();
      else this.#wait();
    });
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#finish();
  }

  #tick(): void {
    const { count, topics, qos, payloadBytes, runId, publisher } = this.#schedule;
    const now = nowMs();
    const due = Math.min(
      count,
      Math.floor(((now - this.#schedule.startMs) * this.#schedule.rate) / 1000) + 1,
    );
    for (let seq = this.#sent; seq < due; seq++) {
      const message = { runId, publisher, seq, probe: false, scheduledMs: this.#dueAt(seq) };
      // [design] A publish on a closed connection is dropped silently: that is loss, counted by
      // the subscribers, not a harness failure.
      if (this.#client.connected) {
        this.#client.publish(topics[seq % topics.length]!, encodeMessage(message, payloadBytes), {
          qos,
        });
      }
    }
    this.#sent = Math.max(this.#sent, due);
    if (this.#sent >= count) this.#finish();
    else this.#wait();
  }

  #wait(): void {
    const untilNext = this.#dueAt(this.#sent) - nowMs();
    // Node fires a timer no sooner than 1 ms later; at high rates one tick sends a batch.
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, Math.floor(untilNext)));
  }

  #dueAt(seq: number): number {
    return scheduledAt(this.#schedule, seq);
  }

  #finish(): void {
    const done = this.#done;
    this.#done = undefined;
    done?.();
  }
}
