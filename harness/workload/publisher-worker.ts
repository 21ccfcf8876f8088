import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { MqttClient } from 'mqtt';
import { MqfedError } from '../../system/protocol/index.ts';
import { encodeHistogram } from '../recording/histogram.ts';
import type { EncodedPublishReport } from '../seams/client-factory.ts';
import { endFlushed } from './end-flushed.ts';
import { connectMqtt } from './mqtt-connect.ts';
import {
  discardSink,
  mqttSink,
  OpenLoopPublisher,
  type PublishReport,
  type PublishSink,
  socketSink,
} from './open-loop-publisher.ts';
import { adoptClockAnchorMs, clockAnchorMs, nowMs, rawClockMs } from './payload.ts';
import { PreciseScheduler } from './precise-scheduler.ts';
import { PublishLedger } from './publish-ledger.ts';
import type { MeasureTarget, ThreadReply, ThreadRequest } from './publisher-worker-protocol.ts';

/**
 * The publisher worker: the MQTT connections of every local publisher, and the one scheduler
 * that runs their schedules (publisher-thread.ts starts it). [design] The scheduler blocks its
 * thread for the last ~2 ms before each due time (PreciseScheduler), which the harness thread
 * cannot afford: there the subscribers stamp arrivals, and a blocked loop would add to every
 * delay. One worker for all publishers, not one each: one thread spins, whatever their number.
 */

const port = parentPort;
if (port === null) throw new Error('publisher-worker.ts runs as a worker thread');

adoptClockAnchorMs((workerData as { anchorMs: number }).anchorMs);
const scheduler = new PreciseScheduler();
const clients = new Map<number, MqttClient>();
const running = new Map<number, OpenLoopPublisher>();
/**
 * Each publisher's last run: its ledger (what it handed over and what was acknowledged) and its
 * sink. The sink is closed when the next run or the end replaces it, not when its run ends: its
 * PUBACKs may still come.
 */
const lastRuns = new Map<number, { ledger: PublishLedger; sink: PublishSink }>();

/** Adopts the harness thread's clock again if it changed (a client host's clock correction). */
function adopt(anchorMs: number): void {
  if (Math.abs(clockAnchorMs() - anchorMs) > 0.0005) adoptClockAnchorMs(anchorMs);
}

const encode = (report: PublishReport): EncodedPublishReport => ({
  sent: report.sent,
  lag: encodeHistogram(report.lag),
});

function clientOf(key: number): MqttClient {
  const client = clients.get(key);
  if (client === undefined) {
    throw new MqfedError('SERVICE_NOT_FOUND', `no publisher ${key} in this thread`);
  }
  return client;
}

async function measure(
  target: MeasureTarget,
  run: <P>(sink: PublishSink<P>) => Promise<PublishReport>,
) {
  if (target.kind === 'discard') return run(discardSink);
  const socket: Socket = connect({ host: target.host, port: target.port, noDelay: true });
  await once(socket, 'connect');
  try {
    return await run(socketSink(socket));
  } finally {
    socket.end();
  }
}

/** The worker's side of the clock comparison (ThreadRequest `clock`). */
function answerClock(cells: SharedArrayBuffer, rounds: number): void {
  const flags = new Int32Array(cells, 0, 2);
  const times = new Float64Array(cells, 8, 2);
  for (let round = 1; round <= rounds; round++) {
    const deadline = performance.now() + 1_000;
    while (Atomics.load(flags, 0) < round) {
      if (performance.now() > deadline) return;
    }
    times[0] = nowMs();
    times[1] = rawClockMs();
    Atomics.store(flags, 1, round);
  }
}

async function handle(request: Exclude<ThreadRequest, { op: 'probe' }>): Promise<ThreadReply> {
  const { id } = request;
  switch (request.op) {
    case 'connect': {
      const client = await connectMqtt(request.url, request.clientId, request.reconnectMs);
      clients.set(request.key, client);
      return { id, ok: true };
    }
    case 'run': {
      adopt(request.anchorMs);
      const ledger = new PublishLedger(request.schedule.count, request.schedule.qos);
      lastRuns.get(request.key)?.sink.close?.();
      const sink = mqttSink(clientOf(request.key), { ledger });
      lastRuns.set(request.key, { ledger, sink });
      const publisher = new OpenLoopPublisher(sink, request.schedule, scheduler);
      running.set(request.key, publisher);
      try {
        return { id, ok: true, report: encode(await publisher.run()) };
      } finally {
        running.delete(request.key);
      }
    }
    case 'measure': {
      adopt(request.anchorMs);
      const report = await measure(request.target, (sink) =>
        new OpenLoopPublisher(sink, request.schedule, scheduler).run(),
      );
      return { id, ok: true, report: encode(report) };
    }
    case 'ledger': {
      clientOf(request.key);
      const ledger = lastRuns.get(request.key)?.ledger ?? new PublishLedger(0, 0);
      return { id, ok: true, ledger: ledger.report() };
    }
    case 'end': {
      // A schedule still running ends here, with what it sent so far.
      running.get(request.key)?.stop();
      const client = clients.get(request.key);
      clients.delete(request.key);
      lastRuns.get(request.key)?.sink.close?.();
      lastRuns.delete(request.key);
      if (client !== undefined) await endFlushed(client);
      return { id, ok: true };
    }
    case 'usage': {
      const cpu = process.threadCpuUsage();
      return { id, ok: true, usage: { cpuMs: (cpu.user + cpu.system) / 1000, ...scheduler.stats } };
    }
    case 'clock':
      answerClock(request.cells, request.rounds);
      return { id, ok: true };
  }
}

port.on('message', (request: ThreadRequest) => {
  if (request.op === 'probe') {
    const client = clients.get(request.key);
    const payload = Buffer.from(
      request.payload.buffer,
      request.payload.byteOffset,
      request.payload.byteLength,
    );
    for (const topic of request.topics) client?.publish(topic, payload, { qos: 0 });
    return;
  }
  handle(request).then(
    (reply) => port.postMessage(reply),
    (error: Error & { code?: unknown }) =>
      port.postMessage({
        id: request.id,
        ok: false,
        error: {
          code: typeof error.code === 'string' ? error.code : 'INTERNAL',
          message: error.message,
        },
      } satisfies ThreadReply),
  );
});
