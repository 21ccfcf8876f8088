import type { Histogram } from 'hdr-histogram-js';
import { delayHistogram, encodeHistogram, latencyOf } from '../harness/index.ts';
import type { BenchMessage } from './payload.ts';

/** Percentiles in ms, as reported; `count` is the number of delays recorded (after warm-up). */
export interface DelaySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface DelayCounts {
  /** Data messages of this run that arrived, duplicates included. */
  received: number;
  /** Distinct sequence numbers that arrived. */
  unique: number;
  duplicates: number;
  /** Arrivals with a smaller sequence number than one already seen. */
  reordered: number;
}

/**
 * The subscriber's side of one run: counts every data message of the run and records its delay,
 * arrival time minus the scheduled send time carried in the payload (coordinated-omission safe:
 * a publisher that falls behind its schedule shows as delay). Messages scheduled during the
 * warm-up count for loss but not for delay. [design §4]
 */
export class DelayRecorder {
  readonly #histogram: Histogram;
  readonly #seen: Uint8Array;
  readonly #warmupEndMs: number;
  readonly #limitUs: number;
  #maxSeq = -1;
  readonly counts: DelayCounts = { received: 0, unique: 0, duplicates: 0, reordered: 0 };
  /** Recorded delays above the limit: the run has failed once these pass 1 % of its samples. */
  overLimit = 0;
  /** When the last data message arrived (ms, `nowMs` clock); the drain watches it. */
  lastArrivalMs = 0;

  /**
   * @param expected messages the run will send (sequence numbers 0 .. expected-1)
   * @param warmupEndMs messages scheduled before this are not recorded
   * @param limitMs the delay above which a message counts in `overLimit`
   */
  constructor(expected: number, warmupEndMs: number, limitMs: number) {
    // The testbed's delay histogram: µs, 3 significant digits.
    this.#histogram = delayHistogram();
    this.#seen = new Uint8Array(expected);
    this.#warmupEndMs = warmupEndMs;
    this.#limitUs = limitMs * 1000;
  }

  record(message: BenchMessage, arrivalMs: number): void {
    const { counts } = this;
    counts.received += 1;
    this.lastArrivalMs = arrivalMs;
    const { seq } = message;
    if (seq < this.#seen.length) {
      if (this.#seen[seq] === 1) {
        counts.duplicates += 1;
        return;
      }
      this.#seen[seq] = 1;
    }
    counts.unique += 1;
    if (seq < this.#maxSeq) counts.reordered += 1;
    else this.#maxSeq = seq;
    if (message.scheduledMs < this.#warmupEndMs) return;
    // A clock that went backwards would give a negative delay; HDR takes none, so it is 0.
    const delayUs = Math.max(0, Math.round((arrivalMs - message.scheduledMs) * 1000));
    this.#histogram.recordValue(delayUs);
    if (delayUs > this.#limitUs) this.overLimit += 1;
  }

  get recorded(): number {
    return this.#histogram.totalCount;
  }

  /** The p99 of what was recorded so far, for the progress line. */
  p99Ms(): number {
    return this.#histogram.getValueAtPercentile(99) / 1000;
  }

  summary(): DelaySummary {
    return { count: this.#histogram.totalCount, ...latencyOf(this.#histogram) };
  }

  /** The histogram in HdrHistogram's compressed base64 form, for the results file. */
  encoded(): string {
    return encodeHistogram(this.#histogram);
  }
}
