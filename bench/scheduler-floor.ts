// `node bench/scheduler-floor.ts [repetitions]`: how accurately the publishers' scheduler keeps
// its schedule on this machine, and the measuring floor (harness/recording/measuring-floor.ts),
// over a few repetitions: the median and the range of each figure, and the publisher worker's
// CPU. For reference, the same schedule on a plain `setTimeout` loop, as publishers ran before.
import { availableParallelism, loadavg } from 'node:os';
import { delayHistogram, latencyOf, recordDelayMs } from '../harness/recording/histogram.ts';
import { measureFloor } from '../harness/recording/measuring-floor.ts';
import type { Latency } from '../harness/results/index.ts';
import type { PublisherSchedule } from '../harness/workload/open-loop-publisher.ts';
import { nowMs } from '../harness/workload/payload.ts';
import { publisherThread } from '../harness/workload/publisher-thread.ts';

const REPETITIONS = Number(process.argv[2] ?? 5);
const RATES = [200, 1_000];
const SCHEDULE_MS = 500;

const scheduleAt = (rate: number): PublisherSchedule => ({
  runId: 0,
  publisher: 0,
  rate,
  count: Math.round((SCHEDULE_MS * rate) / 1000),
  startMs: nowMs() + 20,
  topics: ['bench'],
  qos: 0,
  payloadBytes: 24,
});

/** Lateness of the former scheduler: a `setTimeout(floor(untilNext))` loop on this thread. */
async function timerLoopLag(rate: number): Promise<Latency> {
  const { startMs, count } = scheduleAt(rate);
  const lag = delayHistogram();
  const dueAt = (seq: number) => startMs + (seq * 1000) / rate;
  let seq = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowMs();
      for (; seq < count && dueAt(seq) <= now; seq++) recordDelayMs(lag, now - dueAt(seq));
      if (seq >= count) resolve();
      else setTimeout(tick, Math.max(0, Math.floor(dueAt(seq) - nowMs())));
    };
    tick();
  });
  return latencyOf(lag);
}

/** One repetition's figures, ms unless named otherwise. */
type Row = Record<string, number>;

async function repetition(): Promise<Row> {
  const row: Row = {};
  await publisherThread.hold(async () => {
    for (const rate of RATES) {
      const before = await publisherThread.usage();
      const started = performance.now();
      const { lag } = await publisherThread.measure({ kind: 'discard' }, scheduleAt(rate));
      const after = await publisherThread.usage();
      const lateness = latencyOf(lag);
      row[`lag@${rate}/s p50`] = lateness.p50;
      row[`lag@${rate}/s p99`] = lateness.p99;
      row[`lag@${rate}/s p99.9`] = lateness.p999;
      row[`worker CPU % @${rate}/s`] =
        (100 * (after.cpuMs - before.cpuMs)) / (performance.now() - started);
      row[`spin window µs @${rate}/s`] = after.spinWindowMs * 1000;
    }
    const floor = await measureFloor();
    row['floor: scheduler lag p50'] = floor.schedulerLagMs.p50;
    row['floor: scheduler lag p99'] = floor.schedulerLagMs.p99;
    row['floor: scheduler lag p99.9'] = floor.schedulerLagMs.p999;
    row['floor: loopback p50'] = floor.loopbackMs.p50;
    row['floor: loopback p99'] = floor.loopbackMs.p99;
    row['floor: loopback p99.9'] = floor.loopbackMs.p999;
    row['floor: record cost µs'] = floor.recordCostUs;
  });
  const former = await timerLoopLag(200);
  row['former setTimeout lag@200/s p50'] = former.p50;
  row['former setTimeout lag@200/s p99'] = former.p99;
  return row;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const format = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(3));

const clocks = await publisherThread.compareClocks();
process.stdout.write(
  `publisher worker vs harness thread clock: nowMs ${format(clocks.offsetMs * 1000)} µs, ` +
    `raw timeOrigin+now ${format(clocks.rawOffsetMs * 1000)} µs ` +
    `(read over a ${format(clocks.roundTripMs * 1000)} µs round trip)\n`,
);
process.stdout.write(
  `${availableParallelism()} cores, load average ${loadavg()
    .map((load) => load.toFixed(2))
    .join(' ')} at start; ${REPETITIONS} repetitions of ${SCHEDULE_MS} ms schedules\n\n`,
);
const rows: Row[] = [];
for (let index = 0; index < REPETITIONS; index++) rows.push(await repetition());
const width = Math.max(...Object.keys(rows[0]!).map((name) => name.length));
process.stdout.write(`${'figure (ms unless named)'.padEnd(width)}   median   [min – max]\n`);
for (const name of Object.keys(rows[0]!)) {
  const values = rows.map((row) => row[name]!);
  process.stdout.write(
    `${name.padEnd(width)}   ${format(median(values)).padStart(7)}   ` +
      `[${format(Math.min(...values))} – ${format(Math.max(...values))}]\n`,
  );
}
process.stdout.write(
  `\nload average ${loadavg()
    .map((load) => load.toFixed(2))
    .join(' ')} at end\n`,
);
