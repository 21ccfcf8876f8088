import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import type { Histogram } from 'hdr-histogram-js';
import { MqfedError } from '../../system/protocol/index.ts';
import type { Floor } from '../results/index.ts';
import type { PublisherSchedule } from '../workload/open-loop-publisher.ts';
import { decodeMessage, encodeMessage, nowMs, PAYLOAD_HEADER_BYTES } from '../workload/payload.ts';
import { publisherThread } from '../workload/publisher-thread.ts';
import { DeliveryRecorder } from './delivery-recorder.ts';
import { delayHistogram, latencyOf, recordDelayMs } from './histogram.ts';

export interface FloorOptions {
  /** Length of each of the two timed schedules (scheduler alone, loopback), ms. */
  durationMs?: number;
  /** Messages per second of both. */
  rate?: number;
  /** Deliveries recorded to time one. */
  recordings?: number;
}

const DEFAULTS = { durationMs: 500, rate: 1_000, recordings: 50_000 };

/** Between asking for a schedule and its first due time: the request crosses to the worker. */
const LEAD_MS = 20;
/** Messages of the untimed first schedule: JIT and caches warm, as in a run after its warm-up. */
const WARMUP_MESSAGES = 100;
/** The frames are bare harness messages: fixed length, so the receiver needs no framing. */
const FRAME_BYTES = PAYLOAD_HEADER_BYTES;

function resolveOptions(options: FloorOptions): Required<FloorOptions> {
  const resolved = { ...DEFAULTS, ...options };
  for (const [name, value] of Object.entries(resolved)) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new MqfedError('INVALID_REQUEST', `measureFloor: ${name} must be a positive number`);
    }
  }
  return Object.freeze(resolved);
}

const scheduleOf = (rate: number, count: number): PublisherSchedule => ({
  runId: 0,
  publisher: 0,
  rate,
  count,
  startMs: nowMs() + LEAD_MS,
  topics: ['floor'],
  qos: 0,
  payloadBytes: FRAME_BYTES,
});

/**
 * The testbed's measuring floor (results `floor`), in about 1.2 s with the defaults: what a
 * delay figure of this machine cannot be smaller than, and what the harness adds to it.
 *   - schedulerLagMs: the publishers' scheduler (in the publisher worker) with nothing to send
 *     to: its lateness against the schedule, which every delay measured from the schedule holds;
 *   - loopbackMs: harness messages from that scheduler over a loopback TCP connection to this
 *     thread, stamped on arrival with `nowMs` as a subscriber stamps them: the delay of the
 *     zero-broker path, from the scheduled time;
 *   - recordCostUs: the mean cost of recording one delivery (decode, match, histogram) with a
 *     real DeliveryRecorder.
 * Run it while nothing else of the harness runs: it shares the publisher worker and this thread.
 */
export async function measureFloor(options: FloorOptions = {}): Promise<Floor> {
  const { durationMs, rate, recordings } = resolveOptions(options);
  const count = Math.max(1, Math.round((durationMs * rate) / 1000));
  return publisherThread.hold(async () => {
    await publisherThread.measure(
      { kind: 'discard' },
      scheduleOf(rate, Math.min(count, WARMUP_MESSAGES)),
    );
    const alone = await publisherThread.measure({ kind: 'discard' }, scheduleOf(rate, count));
    const loopback = await measureLoopback(rate, count);
    return {
      schedulerLagMs: latencyOf(alone.lag),
      recordCostUs: Math.round(measureRecordCostUs(recordings) * 1000) / 1000,
      loopbackMs: latencyOf(loopback),
    };
  });
}

/** Delay of harness messages over loopback TCP, from their scheduled times, in µs. */
async function measureLoopback(rate: number, count: number): Promise<Histogram> {
  const histogram = delayHistogram();
  let received = 0;
  let allIn: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allIn = resolve;
  });
  const server = createServer({ noDelay: true }, (socket) => {
    let rest: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      // One arrival time per read, as MQTT.js gives every packet of a read.
      const arrivalMs = nowMs();
      const bytes = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      let offset = 0;
      for (; bytes.length - offset >= FRAME_BYTES; offset += FRAME_BYTES) {
        const message = decodeMessage(bytes.subarray(offset, offset + FRAME_BYTES));
        if (message === undefined) continue;
        recordDelayMs(histogram, arrivalMs - message.scheduledMs);
        received += 1;
      }
      rest = bytes.subarray(offset);
      if (received >= count) allIn();
    });
    socket.on('error', () => allIn());
    socket.on('close', () => allIn());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    await publisherThread.measure(
      { kind: 'tcp', host: '127.0.0.1', port },
      scheduleOf(rate, count),
    );
    // The worker ends its socket after the last write: everything is in once it closes here.
    await done;
  } finally {
    server.close();
  }
  return histogram;
}

/** Mean cost of one `DeliveryRecorder.record` of a freshly decoded message, µs. */
function measureRecordCostUs(recordings: number): number {
  const startMs = 1_000;
  const payloads = Array.from({ length: recordings }, (_, seq) =>
    encodeMessage({ runId: 1, publisher: 0, seq, probe: false, scheduledMs: startMs + seq }, 64),
  );
  const recorder = () =>
    new DeliveryRecorder({
      runId: 1,
      publishers: [{ broker: 'a', startMs, rate: 1_000, count: recordings, topicCount: 1 }],
      subscribers: [{ brokerAt: () => 'a', moves: [], handoverWindowMs: 0, handoverLeadMs: 0 }],
      expectations: [{ subscriber: 0, publisher: 0, topicMatches: [true] }],
      scheduleStartMs: startMs,
      warmupEndMs: startMs,
    });
  const recordAll = (target: DeliveryRecorder, upTo: number) => {
    for (let seq = 0; seq < upTo; seq++) {
      const message = decodeMessage(payloads[seq]!);
      // Delays of 0.2 to 1.2 ms, spread over the histogram's buckets as real ones are.
      if (message !== undefined)
        target.record(0, message, startMs + seq + 0.2 + (seq % 1000) / 1000);
    }
  };
  // A first pass on a recorder of its own warms the JIT, as a run's first seconds do.
  recordAll(recorder(), Math.min(recordings, 5_000));
  const timed = recorder();
  const started = performance.now();
  recordAll(timed, recordings);
  return ((performance.now() - started) * 1000) / recordings;
}
