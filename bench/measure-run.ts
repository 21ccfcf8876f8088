import { CostMeter, HARNESS_SERVICE } from '../harness/recording/cost-meter.ts';
import {
  DeliveryRecorder,
  type RecordedPublisher,
} from '../harness/recording/delivery-recorder.ts';
import { latencyOf } from '../harness/recording/histogram.ts';
import { readMachineCpu } from '../harness/recording/proc-stats.ts';
import type { Latency } from '../harness/results/index.ts';
import type { PublisherSchedule } from '../harness/seams/client-factory.ts';
import { nowMs } from '../harness/seams/run-clock.ts';
import { type BrokerCounters, countersDelta } from '../harness/topology/broker-metrics.ts';
import { scheduledAt } from '../harness/workload/open-loop-publisher.ts';
import { decodeMessage, encodeMessage, type HarnessMessage } from '../harness/workload/payload.ts';
import type { PublishLedgerReport } from '../harness/workload/publish-ledger.ts';
import { publisherThread, type ThreadUsage } from '../harness/workload/publisher-thread.ts';
import { ledgerProgress, type Qos1Delivery, qos1Delivery } from './delivery-rule.ts';
import { PATHS } from './paths.ts';
import type { GeneratorLoad, PathName, RunResult } from './results.ts';
import type { SystemUnderTest } from './system-under-test.ts';

/** The bench message: 64 bytes, as the throughput target specifies (the testbed's layout). */
export const PAYLOAD_BYTES = 64;

export interface RunPlan {
  /** Shown in the progress line, e.g. `throughput 40000 msg/s`. */
  label: string;
  /** Tells this run's messages from an earlier run's still in flight. */
  runId: number;
  path: PathName;
  rate: number;
  durationMs: number;
  warmupMs: number;
  /** The p99 limit; with `stopWhenFailed` a run stops once more than 1 % of it is above. */
  limitMs: number;
  stopWhenFailed: boolean;
}

const PROBE_EVERY_MS = 50;
/** Long enough for the backlog a failed run left behind to drain before the next one. */
const PROBE_TIMEOUT_MS = 60_000;
/** Between handing the schedule to the publisher thread and its first due time. */
const SCHEDULE_LEAD_MS = 100;
/** After the last send, the run ends once every message arrived or none arrived for this long. */
const DRAIN_QUIET_MS = 1_000;
const DRAIN_MAX_MS = 10_000;
/** QoS 1: after the drain, PUBACKs still awaited are waited for as long, asked this often. */
const ACK_POLL_MS = 50;
/** A thread this busy (in cores) had no time to spare: it may be what limits the run. */
const SATURATED_THREAD = 0.9;
/** The machine this busy (a share of all its CPUs, every process counted) had none either. */
const SATURATED_MACHINE = 0.9;
/** A publisher this late at the median has fallen behind its schedule (µs when it keeps up). */
const BEHIND_LAG_P50_MS = 0.5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * One measured run on one path, with the testbed's parts: probe until the path delivers (the
 * peer link is up and subscribed, and an earlier run's backlog has drained); run the open-loop
 * schedule in the publisher thread, at the path's QoS; record every arrival in a
 * DeliveryRecorder (delay from the scheduled time, counts after the warm-up); meter CPU and link
 * bytes from the warm-up's end (CostMeter); wait for stragglers (and at QoS 1 for the last
 * PUBACKs, then account what was acknowledged against what arrived); read the brokers' counters.
 */
export async function measureRun(
  plan: RunPlan,
  system: SystemUnderTest,
  progress: (text: string) => void,
): Promise<RunResult> {
  const publisher = system.publisher(plan.path);
  const topic = system.topicOf(plan.path);
  const { qos } = PATHS[plan.path];
  const count = Math.max(1, Math.round((plan.rate * plan.durationMs) / 1000));
  let probed = false;
  let onData: (message: HarnessMessage, arrivalMs: number) => void = () => {};
  system.onArrival(plan.path, (payload, arrivalMs) => {
    const message = decodeMessage(payload);
    if (message === undefined || message.runId !== plan.runId) return;
    if (message.probe) probed = true;
    else onData(message, arrivalMs);
  });
  try {
    await probe(
      plan,
      () => probed,
      (seq) =>
        publisher.probe(
          [topic],
          encodeMessage(
            { runId: plan.runId, publisher: 0, seq, probe: true, scheduledMs: nowMs() },
            PAYLOAD_BYTES,
          ),
        ),
    );
    const before = await system.brokerCounters();

    const startMs = nowMs() + SCHEDULE_LEAD_MS;
    const warmupEndMs = startMs + plan.warmupMs;
    const schedule: PublisherSchedule = {
      runId: plan.runId,
      publisher: 0,
      rate: plan.rate,
      count,
      startMs,
      topics: [topic],
      qos,
      payloadBytes: PAYLOAD_BYTES,
      warmupEndMs,
    };
    const recorded: RecordedPublisher = {
      broker: 'a',
      startMs,
      rate: plan.rate,
      count,
      topicCount: 1,
      qos,
    };
    const recorder = new DeliveryRecorder({
      runId: plan.runId,
      publishers: [recorded],
      // One subscriber of one path: which path it is, is this run's, not the recorder's.
      subscribers: [
        { brokerAt: () => 'a', moves: [], handoverWindowMs: 0, handoverLeadMs: 0, qos },
      ],
      expectations: [{ subscriber: 0, publisher: 0, topicMatches: [true] }],
      scheduleStartMs: startMs,
      warmupEndMs,
    });
    const firstMeasured = firstSeqAfter(schedule, warmupEndMs);
    const limitMs = plan.limitMs;
    let overLimit = 0;
    let lastArrivalMs = 0;
    onData = (message, arrivalMs) => {
      lastArrivalMs = arrivalMs;
      const known = recorder.recorded;
      recorder.record(0, message, arrivalMs);
      if (recorder.recorded > known && arrivalMs - message.scheduledMs > limitMs) overLimit += 1;
    };

    const running = publisher.run(schedule);
    await sleep(warmupEndMs - nowMs());
    const meter = await RunMeter.begin(system);

    let stoppedEarly = false;
    /** At QoS 1, the ledger as it stood when the run was stopped early (it ends with the client). */
    let stoppedLedger: Promise<PublishLedgerReport | undefined> | undefined;
    const measured = count - firstMeasured;
    const watch = setInterval(() => {
      const elapsedS = Math.max(0, (nowMs() - startMs) / 1000);
      const p99 = recorder.histogramOf().getValueAtPercentile(99) / 1000;
      progress(
        `${plan.label}: ${elapsedS.toFixed(1)}/${plan.durationMs / 1000} s, ` +
          `received ${recorder.recorded}, p99 ${p99.toFixed(2)} ms`,
      );
      if (plan.stopWhenFailed && !stoppedEarly && overLimit > measured / 100) {
        // Already failed, whatever comes next: end the schedule (and with it the connection,
        // which the next run renews).
        stoppedEarly = true;
        stoppedLedger = (qos === 1 ? publisher.ledger() : Promise.resolve(undefined)).catch(
          () => undefined,
        );
        void stoppedLedger.finally(() => publisher.end());
      }
    }, 250);
    const report = await running.finally(() => clearInterval(watch));
    // [design] A run stopped early sent only this much: what it never sent is not lost.
    recorded.count = report.sent;
    const expected = Math.max(0, report.sent - firstMeasured);
    await drain(
      () => recorder.recorded >= expected,
      () => lastArrivalMs,
    );
    let delivery: Qos1Delivery | null = null;
    if (qos === 1 && stoppedLedger === undefined) {
      delivery = await acknowledged(publisher, firstMeasured, recorder);
    } else if (stoppedLedger !== undefined) {
      const ledger = await stoppedLedger;
      if (ledger !== undefined) delivery = qos1Delivery(recorder, ledger);
    }

    const { cost, cores, generator, machineBusy } = await meter.end(recorder.recorded);
    const publisherLagMs = latencyOf(report.lag);
    const after = await system.brokerCounters();
    recorder.finish();
    const summary = recorder.summary();
    const brokers: Record<string, BrokerCounters> = {};
    for (const [name, read] of after) {
      const earlier = before.get(name);
      if (earlier !== undefined) brokers[name] = countersDelta(earlier, read);
    }
    const subscriber = system.subscriber(plan.path);
    return {
      path: plan.path,
      qos,
      rate: plan.rate,
      durationMs: plan.durationMs,
      warmupMs: plan.warmupMs,
      published: report.sent,
      sent: summary.sent,
      received: summary.received,
      lost: summary.lost,
      duplicates: summary.duplicates,
      reordered: summary.reordered,
      stoppedEarly,
      delivery,
      ...(subscriber.connected ? {} : { clientLost: 'the subscriber lost its connection' }),
      latencyMs: summary.latencyMs,
      histogram: summary.histogram,
      publisherLagMs,
      cost,
      cores,
      generator,
      machineBusy,
      brokers,
      notes: limits(generator, publisherLagMs, machineBusy),
    };
  } finally {
    system.onArrival(plan.path, undefined);
  }
}

/**
 * The cost of a run's measured window: the cost meter's CPU per message of every process and
 * link bytes, each process's CPU in cores, and the generator's own split by thread.
 */
class RunMeter {
  readonly #meter: CostMeter;
  readonly #thread: ThreadUsage;
  readonly #startMs = performance.now();
  readonly #machine = readMachineCpu();

  private constructor(meter: CostMeter, thread: ThreadUsage) {
    this.#meter = meter;
    this.#thread = thread;
  }

  static async begin(system: SystemUnderTest): Promise<RunMeter> {
    const meter = await CostMeter.begin(system.metered, { intervalMs: 0, linkIntervalMs: 0 });
    return new RunMeter(meter, await publisherThread.usage());
  }

  async end(delivered: number) {
    const thread = await publisherThread.usage();
    const windowS = (performance.now() - this.#startMs) / 1000;
    const cost = await this.#meter.end(delivered);
    const cores: Record<string, number> = {};
    for (const [label, perMessage] of Object.entries(cost.cpuUsPerMessage)) {
      cores[label] = round2((perMessage * cost.delivered) / (windowS * 1e6));
    }
    const machine = readMachineCpu();
    const threadS = (thread.cpuMs - this.#thread.cpuMs) / 1000;
    // Spinning is timed on the clock: a thread preempted mid-spin counts time it did not run.
    const spinS = Math.min(threadS, (thread.spinMs - this.#thread.spinMs) / 1000);
    const generator: GeneratorLoad = {
      publisherThreadCores: round2((threadS - spinS) / windowS),
      spinCores: round2(spinS / windowS),
      subscriberThreadCores: round2(Math.max(0, (cores[HARNESS_SERVICE] ?? 0) - threadS / windowS)),
    };
    const first = this.#machine;
    const total = machine === undefined || first === undefined ? 0 : machine.total - first.total;
    const machineBusy = total > 0 ? round2((machine!.busy - first!.busy) / total) : null;
    return { cost, cores, generator, machineBusy };
  }
}

/** The first message scheduled at or after `timeMs`, by the recorder's own rule. */
function firstSeqAfter(schedule: PublisherSchedule, timeMs: number): number {
  let seq = Math.max(0, Math.floor(((timeMs - schedule.startMs) * schedule.rate) / 1000));
  while (seq > 0 && scheduledAt(schedule, seq - 1) >= timeMs) seq -= 1;
  while (scheduledAt(schedule, seq) < timeMs) seq += 1;
  return seq;
}

/** Says when the generator or the machine had no time to spare: the limit may be theirs. */
function limits(generator: GeneratorLoad, lag: Latency, machineBusy: number | null): string[] {
  const notes: string[] = [];
  if (lag.p50 >= BEHIND_LAG_P50_MS) {
    notes.push(`generator behind its schedule: lag p50 ${lag.p50} ms, p99 ${lag.p99} ms`);
  }
  if (generator.publisherThreadCores >= SATURATED_THREAD) {
    notes.push(`generator saturated: publisher thread ${generator.publisherThreadCores} cores`);
  }
  if (generator.subscriberThreadCores >= SATURATED_THREAD) {
    notes.push(`generator saturated: subscriber thread ${generator.subscriberThreadCores} cores`);
  }
  if (machineBusy !== null && machineBusy >= SATURATED_MACHINE) {
    notes.push(
      `machine saturated: ${Math.round(machineBusy * 100)} % of its CPUs busy, other processes included`,
    );
  }
  return notes;
}

/** Publishes probes until one arrives: the path is up and delivers. */
async function probe(
  plan: RunPlan,
  arrived: () => boolean,
  send: (seq: number) => void,
): Promise<void> {
  const deadline = nowMs() + PROBE_TIMEOUT_MS;
  for (let seq = 0; !arrived(); seq++) {
    if (nowMs() > deadline) {
      throw new Error(`${plan.label}: no probe arrived within ${PROBE_TIMEOUT_MS} ms`);
    }
    send(seq);
    await sleep(PROBE_EVERY_MS);
  }
}

/**
 * QoS 1: waits until every publish handed over from `first` on was acknowledged, or none was
 * for a while (the drain's quiet time), then accounts what was acknowledged against what
 * arrived. [design] PUBACKs come on their own time, after the schedule's run has resolved, so
 * the ledger is read after the drain; a broker behind on its PUBACKs shows as unacknowledged.
 */
async function acknowledged(
  publisher: ReturnType<SystemUnderTest['publisher']>,
  first: number,
  recorder: DeliveryRecorder,
): Promise<Qos1Delivery> {
  const startMs = nowMs();
  let ledger = await publisher.ledger();
  let progress = ledgerProgress(ledger, first);
  let progressMs = startMs;
  while (progress.acknowledged < progress.handedOver) {
    const now = nowMs();
    if (now - progressMs > DRAIN_QUIET_MS || now - startMs > DRAIN_MAX_MS) break;
    await sleep(ACK_POLL_MS);
    ledger = await publisher.ledger();
    const next = ledgerProgress(ledger, first);
    if (next.acknowledged > progress.acknowledged) progressMs = nowMs();
    progress = next;
  }
  return qos1Delivery(recorder, ledger);
}

/** Waits until everything arrived, or nothing arrived for a while (the rest is lost). */
async function drain(done: () => boolean, lastArrivalMs: () => number): Promise<void> {
  const startMs = nowMs();
  while (!done()) {
    const now = nowMs();
    const quietSince = Math.max(lastArrivalMs(), startMs);
    if (now - quietSince > DRAIN_QUIET_MS || now - startMs > DRAIN_MAX_MS) return;
    await sleep(20);
  }
}
