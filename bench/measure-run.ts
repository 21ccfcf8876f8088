import type { MqttClient } from 'mqtt';
import { type BrokerCounters, countersDelta, scrapeBrokerCounters } from './broker-counters.ts';
import { type DelayCounts, DelayRecorder, type DelaySummary } from './delay-recorder.ts';
import { OpenLoopPublisher, type PublishStats } from './open-loop-publisher.ts';
import { decodeMessage, encodeMessage, nowMs } from './payload.ts';
import type { CpuMeter } from './process-cpu.ts';

export interface RunPlan {
  /** Shown in the progress line, e.g. `throughput 40000 msg/s`. */
  label: string;
  runId: number;
  /** A topic of this run only, so the only subscription on it is this run's. */
  topic: string;
  rate: number;
  durationMs: number;
  warmupMs: number;
  /** The p99 limit; with `stopWhenFailed` a run stops once more than 1 % of it is above. */
  limitMs: number;
  stopWhenFailed: boolean;
}

export interface RunContext {
  publisher: MqttClient;
  subscriber: MqttClient;
  /** `/metrics` base URLs of the brokers, by name. */
  brokers: Record<string, string>;
  cpu: CpuMeter;
  progress(text: string): void;
}

export interface RunResult extends DelayCounts {
  rate: number;
  durationMs: number;
  warmupMs: number;
  sent: number;
  /** Sent and never received (distinct sequence numbers). */
  lost: number;
  /** True when the run stopped early: more than 1 % of its delays were already over the limit. */
  stoppedEarly: boolean;
  /** Set when a bench client lost its connection during the run (the run counts as failed). */
  clientLost?: string;
  delay: DelaySummary;
  /** HdrHistogram compressed base64 of the delays, µs. */
  histogram: string;
  publisher: Omit<PublishStats, 'sent'>;
  /** Counter changes at each broker over the run. */
  brokers: Record<string, BrokerCounters>;
  /** Cores each process used during the run. */
  cpu: Record<string, number>;
}

const PROBE_EVERY_MS = 50;
/** Long enough for the backlog a failed run left behind to drain before the next one. */
const PROBE_TIMEOUT_MS = 60_000;
/** After the last send, the run ends once every message arrived or none arrived for this long. */
const DRAIN_QUIET_MS = 1_000;
const DRAIN_MAX_MS = 10_000;

/**
 * One measured run on one path: subscribe on a fresh topic, probe until the path delivers (the
 * peer link is up and subscribed), publish open-loop at the rate for the duration, wait for
 * stragglers, then count and unsubscribe.
 */
export async function measureRun(plan: RunPlan, ctx: RunContext): Promise<RunResult> {
  const { publisher, subscriber } = ctx;
  const count = Math.max(1, Math.round((plan.rate * plan.durationMs) / 1000));
  let recorder: DelayRecorder | undefined;
  let probeArrived: () => void = () => {};
  const onMessage = (topic: string, payload: Buffer) => {
    const arrivalMs = nowMs();
    if (topic !== plan.topic) return;
    const message = decodeMessage(payload);
    if (message === undefined || message.runId !== plan.runId) return;
    if (message.kind === 'probe') probeArrived();
    else recorder?.record(message, arrivalMs);
  };
  subscriber.on('message', onMessage);
  try {
    await subscriber.subscribeAsync(plan.topic, { qos: 0 });
    await probe(plan, publisher, (resolve) => {
      probeArrived = resolve;
    });
    probeArrived = () => {};

    const before = await scrapeAll(ctx.brokers);
    ctx.cpu.start();
    // A little ahead, so the first tick is not already behind.
    const startMs = nowMs() + 20;
    const active = new DelayRecorder(count, startMs + plan.warmupMs, plan.limitMs);
    recorder = active;
    const sender = new OpenLoopPublisher(publisher, {
      rate: plan.rate,
      count,
      startMs,
      runId: plan.runId,
      topic: plan.topic,
    });
    const measured = count - Math.floor((plan.warmupMs * plan.rate) / 1000);
    let stoppedEarly = false;
    const watch = setInterval(() => {
      const elapsed = Math.max(0, (nowMs() - startMs) / 1000);
      ctx.progress(
        `${plan.label}: ${elapsed.toFixed(1)}/${plan.durationMs / 1000} s, sent ${sender.sent}, ` +
          `received ${active.counts.unique}, p99 ${active.p99Ms().toFixed(2)} ms`,
      );
      if (plan.stopWhenFailed && active.overLimit > measured / 100) {
        stoppedEarly = true;
        sender.stop();
      }
    }, 250);
    const stats = await sender.run().finally(() => clearInterval(watch));
    await drain(active, stats.sent);
    const cpu = ctx.cpu.stop();
    const after = await scrapeAll(ctx.brokers);

    const brokers: Record<string, BrokerCounters> = {};
    for (const name of Object.keys(after))
      brokers[name] = countersDelta(before[name]!, after[name]!);
    return {
      rate: plan.rate,
      durationMs: plan.durationMs,
      warmupMs: plan.warmupMs,
      sent: stats.sent,
      ...active.counts,
      lost: stats.sent - active.counts.unique,
      stoppedEarly,
      delay: active.summary(),
      histogram: active.encoded(),
      publisher: { lagP99Ms: stats.lagP99Ms, lagMaxMs: stats.lagMaxMs },
      brokers,
      cpu,
    };
  } finally {
    subscriber.off('message', onMessage);
    if (subscriber.connected) await subscriber.unsubscribeAsync(plan.topic);
  }
}

/** Publishes probes until one arrives: the path is up and delivers. */
async function probe(
  plan: RunPlan,
  publisher: MqttClient,
  onProbe: (resolve: () => void) => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      onProbe(resolve);
      const deadline = nowMs() + PROBE_TIMEOUT_MS;
      let seq = 0;
      const send = () => {
        if (nowMs() > deadline) {
          reject(new Error(`${plan.label}: no probe arrived within ${PROBE_TIMEOUT_MS} ms`));
          return;
        }
        const message = { kind: 'probe', runId: plan.runId, seq, scheduledMs: nowMs() } as const;
        publisher.publish(plan.topic, encodeMessage(message), { qos: 0 });
        seq += 1;
        timer = setTimeout(send, PROBE_EVERY_MS);
      };
      send();
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until every sent message arrived, or none arrived for a while (the rest is lost). */
async function drain(recorder: DelayRecorder, sent: number): Promise<void> {
  const startMs = nowMs();
  while (recorder.counts.unique < sent) {
    const now = nowMs();
    const quietSince = Math.max(recorder.lastArrivalMs, startMs);
    if (now - quietSince > DRAIN_QUIET_MS || now - startMs > DRAIN_MAX_MS) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function scrapeAll(brokers: Record<string, string>) {
  const entries = await Promise.all(
    Object.entries(brokers).map(async ([name, url]) => [name, await scrapeBrokerCounters(url)]),
  );
  return Object.fromEntries(entries) as Record<string, BrokerCounters>;
}
