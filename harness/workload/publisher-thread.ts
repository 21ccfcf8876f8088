import { Worker } from 'node:worker_threads';
import { isErrorCode, MqfedError } from '../../system/protocol/index.ts';
import {
  decodeReport,
  type EncodedPublishReport,
  type PublisherConnection,
  type PublisherSchedule,
  type PublishReport,
} from '../seams/client-factory.ts';
import { isTestbedErrorCode, TestbedError } from '../testbed-error.ts';
import { clockAnchorMs, nowMs, rawClockMs } from './payload.ts';
import type {
  MeasureTarget,
  ThreadReply,
  ThreadRequest,
  ThreadUsage,
} from './publisher-worker-protocol.ts';

export type { MeasureTarget, ThreadUsage } from './publisher-worker-protocol.ts';

const WORKER_URL = new URL('./publisher-worker.ts', import.meta.url);

/** The two threads' clocks compared over shared memory (the round trip of least doubt). */
export interface ClockComparison {
  /** The worker's `nowMs` minus the harness thread's at the same instant, ms. */
  offsetMs: number;
  /** The same for the raw clocks (`performance.timeOrigin + performance.now()`), ms. */
  rawOffsetMs: number;
  /** The round trip the comparison was read over: the offsets are good to half of it. */
  roundTripMs: number;
}

/** A request before it is given its id (distributed over the union, so each op keeps its fields). */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Request = WithoutId<Extract<ThreadRequest, { id: number }>>;

interface Pending {
  resolve(reply: Extract<ThreadReply, { ok: true }>): void;
  reject(error: Error): void;
}

/**
 * A publisher of this process's worker. `runEncoded` is `run` with the lag histogram left as the
 * worker encoded it: a client host passes it on to the harness as it is. [design] Decoding and
 * encoding it again costs the host's main thread about a millisecond per publisher, and a
 * thousand publishers end their schedules within seconds of each other: the thread that reads
 * the subscribers' sockets was blocked long enough to stall the brokers behind it (crowd-xl).
 */
export interface LocalPublisher extends PublisherConnection {
  runEncoded(schedule: PublisherSchedule): Promise<EncodedPublishReport>;
}

/** One worker and the answers awaited from it. */
interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/** Options about the main entry's source, with the value they take (`-e <script>`). */
const ENTRY_OPTIONS = new Set(['--input-type', '-e', '--eval', '-p', '--print']);

/**
 * The process's Node options, for the worker, less those about the main entry's source: with
 * `node --input-type=module -e ...`, a worker given them refuses its own file.
 */
function workerExecArgv(): string[] {
  const kept: string[] = [];
  for (let index = 0; index < process.execArgv.length; index++) {
    const option = process.execArgv[index]!;
    if (ENTRY_OPTIONS.has(option)) index += 1;
    else if (!ENTRY_OPTIONS.has(option.split('=')[0]!)) kept.push(option);
  }
  return kept;
}

/**
 * The worker, with the harness's own Node options where a worker takes them. Some options are
 * per process and a worker refuses them (`--expose-gc`, `--cpu-prof`, `--max-old-space-size`
 * under a profiler or a GC experiment): then it starts with none, which Node 24 needs none of to
 * run the worker's TypeScript. [design] Profiling the harness must not stop it from publishing.
 */
function startWorker(): Worker {
  const workerData = { anchorMs: clockAnchorMs() };
  try {
    return new Worker(WORKER_URL, { workerData, execArgv: workerExecArgv() });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    return new Worker(WORKER_URL, { workerData, execArgv: [] });
  }
}

function errorOf(error: { code: string; message: string }): Error {
  if (isErrorCode(error.code)) return new MqfedError(error.code, error.message);
  if (isTestbedErrorCode(error.code)) return new TestbedError(error.code, error.message);
  return Object.assign(new Error(error.message), { code: error.code });
}

/**
 * The publisher worker seen from the harness thread: the local publishers' MQTT connections
 * live there, and their schedules run there (publisher-worker.ts says why). The worker starts
 * with the first publisher (or `hold`) and is terminated when the last one ends. [design] It
 * keeps the process alive only while a request is outstanding (a schedule running): a
 * publisher left open does not hang the process on exit.
 */
export class PublisherThread {
  #thread: Thread | undefined;
  /** Open publishers and holds: the worker lives while this is above 0. */
  #users = 0;
  #nextId = 1;
  #nextKey = 1;

  /** Whether a worker thread is running. */
  get active(): boolean {
    return this.#thread !== undefined;
  }

  /** A publisher's MQTT connection, made in the worker. */
  async publisher(url: string, clientId: string, reconnectMs?: number): Promise<LocalPublisher> {
    const thread = this.#acquire();
    const key = this.#nextKey++;
    try {
      await this.#request(thread, { op: 'connect', key, url, clientId, reconnectMs });
    } catch (error) {
      await this.#release();
      throw error;
    }
    let ended = false;
    const runEncoded = async (schedule: PublisherSchedule) => {
      const reply = await this.#request(thread, {
        op: 'run',
        key,
        schedule,
        anchorMs: clockAnchorMs(),
      });
      return reply.report!;
    };
    return {
      probe: (topics, payload) => {
        if (ended || this.#thread !== thread) return;
        // A copy: a pooled Buffer would take its whole 8 KiB pool across.
        const bytes = new Uint8Array(payload);
        const request: ThreadRequest = { op: 'probe', key, topics: [...topics], payload: bytes };
        thread.worker.postMessage(request, [bytes.buffer]);
      },
      run: async (schedule) => decodeReport(await runEncoded(schedule)),
      runEncoded,
      ledger: async () => (await this.#request(thread, { op: 'ledger', key })).ledger!,
      end: async () => {
        if (ended) return;
        ended = true;
        try {
          // A schedule still running there ends first, with what it sent.
          if (this.#thread === thread) await this.#request(thread, { op: 'end', key });
        } finally {
          await this.#release();
        }
      },
    };
  }

  /** Keeps the worker up while `use` runs: several measurements on one thread. */
  async hold<T>(use: (thread: Thread) => Promise<T>): Promise<T> {
    const thread = this.#acquire();
    try {
      return await use(thread);
    } finally {
      await this.#release();
    }
  }

  /** Runs a schedule in the worker's scheduler to a target that is no broker: the floor. */
  measure(target: MeasureTarget, schedule: PublisherSchedule): Promise<PublishReport> {
    return this.hold(async (thread) => {
      const reply = await this.#request(thread, {
        op: 'measure',
        target,
        schedule,
        anchorMs: clockAnchorMs(),
      });
      return decodeReport(reply.report!);
    });
  }

  /** The worker's CPU time and its scheduler's figures so far. */
  usage(): Promise<ThreadUsage> {
    return this.hold(async (thread) => (await this.#request(thread, { op: 'usage' })).usage!);
  }

  /**
   * Reads both threads' clocks at one instant, `rounds` times over shared memory, and keeps the
   * round with the shortest round trip. Blocks this thread for those round trips (µs each).
   */
  compareClocks(rounds = 200): Promise<ClockComparison> {
    return this.hold(async (thread) => {
      const cells = new SharedArrayBuffer(24);
      const flags = new Int32Array(cells, 0, 2);
      const times = new Float64Array(cells, 8, 2);
      const answered = this.#request(thread, { op: 'clock', cells, rounds });
      answered.catch(() => {}); // awaited below, unless this thread gives up first
      let best: ClockComparison = {
        offsetMs: 0,
        rawOffsetMs: 0,
        roundTripMs: Number.POSITIVE_INFINITY,
      };
      for (let round = 1; round <= rounds; round++) {
        const deadline = performance.now() + 2_000;
        const sent = nowMs();
        const sentRaw = rawClockMs();
        Atomics.store(flags, 0, round);
        while (Atomics.load(flags, 1) < round) {
          if (performance.now() > deadline) {
            throw new TestbedError(
              'PUBLISHER_THREAD_FAILED',
              'the publisher thread did not answer',
            );
          }
        }
        const backRaw = rawClockMs();
        const back = nowMs();
        if (back - sent < best.roundTripMs) {
          best = {
            offsetMs: times[0]! - (sent + back) / 2,
            rawOffsetMs: times[1]! - (sentRaw + backRaw) / 2,
            roundTripMs: back - sent,
          };
        }
      }
      await answered;
      return best;
    });
  }

  #acquire(): Thread {
    this.#users += 1;
    if (this.#thread !== undefined) return this.#thread;
    const worker = startWorker();
    const thread: Thread = { worker, pending: new Map() };
    // Idle, it keeps nothing alive; `#request` refs it while an answer is awaited.
    worker.unref();
    worker.on('message', (reply: ThreadReply) => this.#receive(thread, reply));
    const gone = (error: Error) => {
      if (this.#thread === thread) this.#thread = undefined;
      const pending = [...thread.pending.values()];
      thread.pending.clear();
      for (const { reject } of pending) reject(error);
    };
    worker.on('error', (error) =>
      gone(
        new TestbedError(
          'PUBLISHER_THREAD_FAILED',
          `the publisher thread failed: ${error.message}`,
          error,
        ),
      ),
    );
    worker.on('exit', (code) =>
      gone(new TestbedError('PUBLISHER_THREAD_FAILED', `the publisher thread exited (${code})`)),
    );
    this.#thread = thread;
    return thread;
  }

  async #release(): Promise<void> {
    this.#users -= 1;
    if (this.#users > 0) return;
    const thread = this.#thread;
    this.#thread = undefined;
    await thread?.worker.terminate();
  }

  #request(thread: Thread, request: Request): Promise<Extract<ThreadReply, { ok: true }>> {
    if (this.#thread !== thread) {
      return Promise.reject(
        new TestbedError('PUBLISHER_THREAD_FAILED', 'the publisher thread is gone'),
      );
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      // An awaited answer keeps the process alive; an idle thread does not.
      if (thread.pending.size === 0) thread.worker.ref();
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ ...request, id } as ThreadRequest);
    });
  }

  #receive(thread: Thread, reply: ThreadReply): void {
    const pending = thread.pending.get(reply.id);
    if (pending === undefined) return;
    thread.pending.delete(reply.id);
    if (thread.pending.size === 0) thread.worker.unref();
    if (reply.ok) pending.resolve(reply);
    else pending.reject(errorOf(reply.error));
  }
}

/** The publisher thread of this process: every local publisher shares it. */
export const publisherThread = new PublisherThread();
