import { MqfedError } from '../../system/protocol/index.ts';
import { nowMs } from './payload.ts';

/** Something the scheduler runs at given times: an open-loop publisher. */
export interface ScheduledTask {
  /**
   * Runs what is due at `timeMs` (read at or after the due time) and says when the task is due
   * next, or `undefined` when it is done.
   */
  fire(timeMs: number): number | undefined;
}

export interface PreciseSchedulerOptions {
  /** The clock the due times are on. */
  clock?: () => number;
  /** Farther than this from the next due time, the thread sleeps on a timer (ms). */
  timerGuardMs?: number;
  /** Bounds of the spin window, before its due time, in which the thread spins on the clock (ms). */
  minSpinMs?: number;
  maxSpinMs?: number;
  /** Largest share of the time the thread may spend spinning, however close the due times are. */
  maxSpinShare?: number;
}

/** What the scheduler did, for the benchmark and the floor. */
export interface SchedulerStats {
  /** Times the thread woke to send (batches). */
  batches: number;
  /** The spin window now in use, ms. */
  spinWindowMs: number;
  /** Time spent spinning, ms. */
  spinMs: number;
}

const DEFAULTS = {
  clock: nowMs,
  timerGuardMs: 2,
  minSpinMs: 0.03,
  maxSpinMs: 0.5,
  maxSpinShare: 0.25,
} satisfies Required<PreciseSchedulerOptions>;

/** Overshoots of `Atomics.wait` kept to size the spin window. */
const OVERSHOOT_SAMPLES = 64;
/** The spin window covers this quantile of the recent overshoots, plus a margin. */
const OVERSHOOT_QUANTILE = 0.98;
const SPIN_MARGIN_MS = 0.02;
/** The thread hands back to its event loop (I/O, PUBACKs, requests) after this much sending. */
const MAX_BATCH_MS = 5;

interface Entry {
  dueMs: number;
  task: ScheduledTask;
}

function resolveSchedulerOptions(options: PreciseSchedulerOptions) {
  const resolved = { ...DEFAULTS, ...options };
  const { timerGuardMs, minSpinMs, maxSpinMs, maxSpinShare } = resolved;
  if (!(minSpinMs > 0 && minSpinMs <= maxSpinMs && maxSpinMs < timerGuardMs)) {
    throw new MqfedError(
      'INVALID_REQUEST',
      'the scheduler needs 0 < minSpinMs <= maxSpinMs < timerGuardMs',
    );
  }
  if (!(maxSpinShare > 0 && maxSpinShare <= 1)) {
    throw new MqfedError('INVALID_REQUEST', 'maxSpinShare is a share: more than 0, at most 1');
  }
  return Object.freeze(resolved);
}

/**
 * Runs tasks at their due times to within a few µs, where a plain timer is late by 0.1 to 1 ms
 * and more (libuv timers have 1 ms granularity, and fire late when the loop is busy). [design]
 * Three stages per due time:
 *   1. farther than `timerGuardMs` away: sleep on a timer, so the thread's event loop runs
 *      (sockets, PUBACKs, requests) and the CPU is idle;
 *   2. then `Atomics.wait` with a fractional timeout, which blocks the thread on a futex until
 *      the spin window opens: idle CPU too, but it wakes late by the kernel's timer slack (50 µs
 *      for an ordinary thread) and scheduling: ≈60 µs at the median, 80 µs at p90 on a 2-core
 *      VM, measured;
 *   3. then spin on the clock to the due time, and run every task that is due.
 * The spin window is sized from the measured overshoot of `Atomics.wait` (its 98th percentile
 * over the last 64 waits, plus 20 µs), so it is as short as the machine allows: the thread
 * spins only for what the wait may overshoot. It is capped so that spinning takes at most
 * `maxSpinShare` of the thread when due times come thick and fast (and at `maxSpinMs`): on a
 * busy machine the schedule then slips a little, visibly in the lag, rather than a core
 * being burnt. Stages 2 and 3 block the thread's event loop, so this belongs in a thread of its
 * own (the publisher worker), never in the thread that receives and stamps messages. After
 * each batch the thread returns to its event loop (a timer, or `setImmediate` when the next due
 * time is near) before waiting again.
 */
export class PreciseScheduler {
  readonly #clock: () => number;
  readonly #timerGuardMs: number;
  readonly #minSpinMs: number;
  readonly #maxSpinMs: number;
  readonly #maxSpinShare: number;
  readonly #heap: Entry[] = [];
  readonly #active = new Set<ScheduledTask>();
  readonly #waitCell = new Int32Array(new SharedArrayBuffer(4));
  readonly #overshoots = new Float64Array(OVERSHOOT_SAMPLES);
  #overshootCount = 0;
  /** The window learnt from the overshoots, before the CPU cap. */
  #learntSpinMs: number;
  /** Mean time between batches (exponentially weighted), for the CPU cap. */
  #batchIntervalMs = 1_000;
  #lastBatchMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #batches = 0;
  #spinMs = 0;

  constructor(options: PreciseSchedulerOptions = {}) {
    const resolved = resolveSchedulerOptions(options);
    this.#clock = resolved.clock;
    this.#timerGuardMs = resolved.timerGuardMs;
    this.#minSpinMs = resolved.minSpinMs;
    this.#maxSpinMs = resolved.maxSpinMs;
    this.#maxSpinShare = resolved.maxSpinShare;
    // Until overshoots are measured: wide enough for a busy machine.
    this.#learntSpinMs = Math.min(resolved.maxSpinMs, 0.2);
  }

  now(): number {
    return this.#clock();
  }

  get stats(): SchedulerStats {
    return { batches: this.#batches, spinWindowMs: this.#spinWindowMs(), spinMs: this.#spinMs };
  }

  /** Runs `task` from `dueMs` on, until it says it is done or is removed. */
  add(task: ScheduledTask, dueMs: number): void {
    this.#active.add(task);
    this.#push({ dueMs, task });
    this.#arm();
  }

  /** No further `fire` of `task`. */
  remove(task: ScheduledTask): void {
    this.#active.delete(task);
    // The heap entry is dropped when it comes up; with nothing left the thread may go idle.
    if (this.#active.size === 0) this.#disarm();
  }

  /** Stops every task, and the timers with them. */
  clear(): void {
    this.#active.clear();
    this.#heap.length = 0;
    this.#disarm();
  }

  #spinWindowMs(): number {
    const capped = Math.min(this.#learntSpinMs, this.#maxSpinShare * this.#batchIntervalMs);
    return Math.max(this.#minSpinMs, capped);
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }

  /** (Re)plans the next wake-up for the earliest due time. */
  #arm(): void {
    this.#disarm();
    const next = this.#peek();
    if (next === undefined) return;
    const untilMs = next.dueMs - this.#clock();
    if (untilMs > this.#timerGuardMs) {
      // A timer may fire up to 1 ms early (libuv's loop time is in whole ms and read at the
      // start of the loop turn) and late by anything: the guard leaves room for early, the
      // stages after it take the rest.
      this.#timer = setTimeout(this.#step, Math.max(1, Math.floor(untilMs - this.#timerGuardMs)));
    } else {
      this.#immediate = setImmediate(this.#step);
    }
  }

  #step = (): void => {
    this.#timer = undefined;
    this.#immediate = undefined;
    const next = this.#peek();
    if (next === undefined) return;
    let now = this.#clock();
    const untilMs = next.dueMs - now;
    if (untilMs > this.#timerGuardMs) {
      this.#arm();
      return;
    }
    const spinWindowMs = this.#spinWindowMs();
    if (untilMs > spinWindowMs) {
      const requestedMs = untilMs - spinWindowMs;
      Atomics.wait(this.#waitCell, 0, 0, requestedMs);
      const woke = this.#clock();
      this.#learn(woke - now - requestedMs);
      now = woke;
    }
    const spinFrom = now;
    while (now < next.dueMs) now = this.#clock();
    this.#spinMs += now - spinFrom;
    this.#runDue(now);
    this.#arm();
  };

  /** Fires every task that is due, reading the clock again as the batch goes on. */
  #runDue(startMs: number): void {
    this.#batches += 1;
    if (this.#lastBatchMs > 0) {
      this.#batchIntervalMs += 0.1 * (startMs - this.#lastBatchMs - this.#batchIntervalMs);
    }
    this.#lastBatchMs = startMs;
    let now = startMs;
    while (now - startMs < MAX_BATCH_MS) {
      const top = this.#heap[0];
      if (top === undefined || top.dueMs > now) break;
      this.#pop();
      if (!this.#active.has(top.task)) continue;
      const nextDueMs = top.task.fire(now);
      if (nextDueMs === undefined) this.#active.delete(top.task);
      else this.#push({ dueMs: nextDueMs, task: top.task });
      now = this.#clock();
    }
  }

  #learn(overshootMs: number): void {
    this.#overshoots[this.#overshootCount % OVERSHOOT_SAMPLES] = Math.max(0, overshootMs);
    this.#overshootCount += 1;
    if (this.#overshootCount % 8 !== 0) return;
    const samples = this.#overshoots
      .slice(0, Math.min(this.#overshootCount, OVERSHOOT_SAMPLES))
      .sort();
    const quantile = samples[Math.floor(OVERSHOOT_QUANTILE * (samples.length - 1))]!;
    this.#learntSpinMs = Math.min(this.#maxSpinMs, quantile + SPIN_MARGIN_MS);
  }

  /** The earliest entry of a task still active (entries of removed tasks are dropped here). */
  #peek(): Entry | undefined {
    while (this.#heap.length > 0 && !this.#active.has(this.#heap[0]!.task)) this.#pop();
    return this.#heap[0];
  }

  // A binary min-heap on dueMs: thousands of publishers cost log n per message, not n.
  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent]!.dueMs <= entry.dueMs) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.dueMs < heap[left]!.dueMs ? right : left;
      if (heap[child]!.dueMs >= last.dueMs) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = last;
  }
}
