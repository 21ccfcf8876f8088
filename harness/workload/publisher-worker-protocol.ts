import type {
  EncodedPublishReport,
  PublisherSchedule,
  PublishLedgerReport,
} from '../seams/client-factory.ts';

/**
 * What the harness thread and the publisher worker (publisher-worker.ts) say to each other, as
 * structured-clone messages of one process: no schema, both ends are this code. Every request
 * but `probe` has an id and gets one reply.
 */

/** Where a measuring schedule sends its messages: nowhere, or over a TCP connection. */
export type MeasureTarget = { kind: 'discard' } | { kind: 'tcp'; host: string; port: number };

export type ThreadRequest =
  | {
      id: number;
      op: 'connect';
      key: number;
      url: string;
      clientId: string;
      reconnectMs: number | undefined;
    }
  /** Fire and forget, QoS 0: priming. */
  | { op: 'probe'; key: number; topics: readonly string[]; payload: Uint8Array }
  /** `anchorMs`: the harness thread's `clockAnchorMs()` as the schedule was sent. */
  | { id: number; op: 'run'; key: number; schedule: PublisherSchedule; anchorMs: number }
  /** What the publisher's last schedule handed over and had acknowledged so far. */
  | { id: number; op: 'ledger'; key: number }
  | { id: number; op: 'end'; key: number }
  | {
      id: number;
      op: 'measure';
      target: MeasureTarget;
      schedule: PublisherSchedule;
      anchorMs: number;
    }
  | { id: number; op: 'usage' }
  /**
   * Ping-pong on shared memory to compare the two threads' clocks: Int32 cells 0 (the round
   * the harness thread started) and 1 (the round the worker answered), Float64 cells 1 and 2
   * (the worker's `nowMs` and raw clock when it answered).
   */
  | { id: number; op: 'clock'; cells: SharedArrayBuffer; rounds: number };

export interface ThreadUsage {
  /** CPU time of the worker thread so far, ms. */
  cpuMs: number;
  /** The scheduler's batches, spin window (ms) and time spent spinning (ms) so far. */
  batches: number;
  spinWindowMs: number;
  spinMs: number;
}

export type ThreadReply =
  | {
      id: number;
      ok: true;
      report?: EncodedPublishReport;
      usage?: ThreadUsage;
      ledger?: PublishLedgerReport;
    }
  | { id: number; ok: false; error: { code: string; message: string } };
