import type { Progress } from '../harness/index.ts';
import type { Federation } from './federation.ts';
import { measureRun, type RunResult } from './measure-run.ts';
import { assertConnected, type BenchClients, type PathName } from './mqtt-clients.ts';
import type { CpuMeter } from './process-cpu.ts';
import { type SearchOptions, searchRate } from './rate-search.ts';
import { type DelayAtRate, ratio, type ThroughputResults } from './results.ts';

export interface PhaseContext {
  federation: Federation;
  clients: BenchClients;
  cpu: CpuMeter;
  progress: Progress;
  durationS: number;
  warmupS: number;
  p99LimitMs: number;
  /** Replaces clients that lost their connection with fresh ones. */
  reconnect(): Promise<BenchClients>;
}

const WARM_UP_RATE = 2_000;
const WARM_UP_SECONDS = 5;

/** The three phases of the link bench: warm-up, throughput search and delay by path. */
export class LinkPhases {
  readonly #ctx: PhaseContext;
  #nextRunId = 1;

  constructor(ctx: PhaseContext) {
    this.#ctx = ctx;
  }

  /**
   * Warms every process and path up before anything is measured: the first seconds of a cold
   * process run unoptimized code, and a cold first throughput run can fall so far behind that it
   * never catches up, failing a rate the warm system carries.
   */
  async warmUp(): Promise<void> {
    const seconds = Math.min(this.#ctx.durationS, WARM_UP_SECONDS);
    for (const path of ['same', 'relay', 'cross'] as const) {
      const result = await this.#run(path, WARM_UP_RATE, false, `warm-up ${path}`, seconds);
      this.#log(`warm-up ${path} ${WARM_UP_RATE} msg/s (not reported)`, result);
    }
  }

  /** The highest rate across the link with no loss and p99 under the limit. */
  async throughput(search: SearchOptions, target: number): Promise<ThroughputResults> {
    const limit = this.#ctx.p99LimitMs;
    const outcome = await searchRate(search, async (rate) => {
      const result = await this.#run('cross', rate, true, `throughput ${rate} msg/s`);
      const pass =
        result.lost === 0 &&
        !result.stoppedEarly &&
        result.clientLost === undefined &&
        result.delay.p99 < limit;
      this.#log(`throughput ${rate} msg/s: ${pass ? 'pass' : 'FAIL'}`, result);
      return { pass, result: { ...result, pass } };
    });
    return {
      highestPass: outcome.highestPass,
      lowestFail: outcome.lowestFail,
      met: (outcome.highestPass ?? 0) >= target,
      trials: outcome.trials.map((trial) => trial.result),
    };
  }

  /** Delay of each path at each rate, and the ratios between the hops. */
  async delay(rates: number[], ratioTarget: number): Promise<DelayAtRate[]> {
    const atRates: DelayAtRate[] = [];
    for (const rate of rates) {
      const paths = {} as Record<PathName, RunResult>;
      for (const path of ['same', 'relay', 'cross'] as const) {
        paths[path] = await this.#run(path, rate, false, `delay ${path} ${rate} msg/s`);
        this.#log(`delay ${path} ${rate} msg/s`, paths[path]);
      }
      const { same, cross, relay } = paths;
      const relayRatio = {
        p50: ratio(cross.delay.p50 - same.delay.p50, relay.delay.p50 - same.delay.p50),
        p99: ratio(cross.delay.p99 - same.delay.p99, relay.delay.p99 - same.delay.p99),
      };
      const paperRatio = {
        p50: ratio(cross.delay.p50 - same.delay.p50, same.delay.p50),
        p99: ratio(cross.delay.p99 - same.delay.p99, same.delay.p99),
      };
      const within = (value: number | undefined) => value !== undefined && value <= ratioTarget;
      const met = within(relayRatio.p50) && within(relayRatio.p99);
      atRates.push({ rate, paths, relayRatio, paperRatio, met });
    }
    return atRates;
  }

  async #run(
    path: PathName,
    rate: number,
    stopWhenFailed: boolean,
    label: string,
    seconds = this.#ctx.durationS,
  ): Promise<RunResult> {
    const { federation, clients, durationS, warmupS } = this.#ctx;
    const runId = this.#nextRunId++;
    const result = await measureRun(
      {
        label,
        runId,
        topic: `bench/${path}/${runId}`,
        rate,
        durationMs: seconds * 1000,
        // A shorter run (the warm-up) leaves out the same share of its start.
        warmupMs: (seconds * warmupS * 1000) / durationS,
        limitMs: this.#ctx.p99LimitMs,
        stopWhenFailed,
      },
      {
        publisher: clients.publisher,
        subscriber: clients[path],
        brokers: { 'broker-a': federation.a.httpUrl, 'broker-b': federation.b.httpUrl },
        cpu: this.#ctx.cpu,
        progress: (text) => this.#ctx.progress.update(text),
      },
    );
    if (!stopWhenFailed) {
      assertConnected(clients);
      return result;
    }
    try {
      assertConnected(clients);
      return result;
    } catch (error) {
      // [design] In the throughput search a client that cannot keep up (MQTT.js fails its socket
      // with EINVAL when its write queue grows huge) fails that rate; the search goes on.
      this.#ctx.clients = await this.#ctx.reconnect();
      return { ...result, clientLost: (error as Error).message };
    }
  }

  /** One line per run on stderr, so a log shows how far a long run got and what it saw. */
  #log(what: string, result: RunResult): void {
    const cpu = Object.entries(result.cpu)
      .map(([name, cores]) => `${name} ${cores.toFixed(2)}`)
      .join(', ');
    this.#ctx.progress.log(
      `${what}: lost ${result.lost}/${result.sent}, p50 ${result.delay.p50} ms, ` +
        `p99 ${result.delay.p99} ms, publisher lag p99 ${result.publisher.lagP99Ms} ms; cores: ${cpu}`,
    );
  }
}
