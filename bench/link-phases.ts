import type { Progress } from '../harness/progress.ts';
import { failures } from './delivery-rule.ts';
import { measureRun } from './measure-run.ts';
import { PATH_NAMES, PATHS } from './paths.ts';
import { type SearchOptions, searchRate } from './rate-search.ts';
import {
  type DelayAtRate,
  type PathName,
  type RunResult,
  ratio,
  type ThroughputResults,
  type Trial,
} from './results.ts';
import type { SystemUnderTest } from './system-under-test.ts';

export interface PhaseContext {
  system: SystemUnderTest;
  progress: Progress;
  durationS: number;
  warmupS: number;
  p99LimitMs: number;
}

const WARM_UP_RATE = 2_000;
const WARM_UP_SECONDS = 5;
/**
 * The order of the delay runs: each mqfed path at QoS 0, the baseline, TLS, then QoS 1 (mqfed's,
 * then the bridge's).
 */
const DELAY_ORDER: readonly PathName[] = [
  'same',
  'relay',
  'cross',
  'mosquitto-same',
  'mosquitto',
  'cross-tls',
  'cross-qos1-durable',
  'cross-qos1-memory',
  'mosquitto-qos1',
];

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
    for (const path of this.#paths()) {
      const result = await this.#run(path, WARM_UP_RATE, false, `warm-up ${path}`, seconds);
      this.#log(`warm-up ${path} ${WARM_UP_RATE} msg/s (not reported)`, result);
    }
  }

  /**
   * The highest rate across the link of `path` that is loss-free (at its QoS: delivery-rule.ts)
   * with p99 under the limit; `target` is the rate it should reach, if it has one of its own.
   */
  async throughput(
    path: PathName,
    search: SearchOptions,
    target: number | undefined,
  ): Promise<ThroughputResults> {
    const limit = this.#ctx.p99LimitMs;
    const outcome = await searchRate(search, async (rate) => {
      const label = `throughput ${path} ${rate} msg/s`;
      const result = await this.#run(path, rate, true, label);
      const why = failures(result, limit);
      const pass = why.length === 0;
      this.#log(`${label}: ${pass ? 'pass' : `FAIL (${why.join(', ')})`}`, result);
      // [design] A failed rate may have broken a client (a flooded socket) or left it ended (a
      // run stopped early): the next rate starts on fresh connections.
      if (!pass) await this.#ctx.system.renew(path);
      const trial: Trial = { ...result, pass, failures: why };
      return { pass, result: trial };
    });
    return {
      path,
      qos: PATHS[path].qos,
      startRate: search.startRate,
      highestPass: outcome.highestPass,
      lowestFail: outcome.lowestFail,
      met: target === undefined ? null : (outcome.highestPass ?? 0) >= target,
      trials: outcome.trials.map((trial) => trial.result),
    };
  }

  /** The paths of this bench that cross one peer link, each searched for its highest rate. */
  linkPaths(): PathName[] {
    return PATH_NAMES.filter((path) => PATHS[path].link && this.#ctx.system.paths.includes(path));
  }

  /**
   * Delay of each path at each rate, and the ratios between the hops, `repeat` times. [design]
   * Repetitions are the outer loop: a change in the machine's other work during the bench then
   * spreads over every rate and path alike instead of landing on one of them, and each
   * repetition's ratios compare runs made minutes apart at most.
   */
  async delay(rates: number[], ratioTarget: number, repeat = 1): Promise<DelayAtRate[]> {
    const atRates: DelayAtRate[] = [];
    for (let repetition = 1; repetition <= repeat; repetition += 1) {
      for (const rate of rates) atRates.push(await this.#delayAt(rate, ratioTarget, repetition));
    }
    return atRates;
  }

  async #delayAt(rate: number, ratioTarget: number, repetition: number): Promise<DelayAtRate> {
    const paths: DelayAtRate['paths'] = {};
    for (const path of this.#paths()) {
      const label = `delay ${path} ${rate} msg/s (repetition ${repetition})`;
      const result = await this.#run(path, rate, false, label);
      if (result.clientLost !== undefined) throw new Error(`${path}: ${result.clientLost}`);
      paths[path] = result;
      this.#log(label, result);
    }
    const p = (path: PathName, at: 'p50' | 'p99') => paths[path]?.latencyMs[at] ?? Number.NaN;
    const ratios = (of: (at: 'p50' | 'p99') => number | undefined) => ({
      p50: of('p50'),
      p99: of('p99'),
    });
    const relayRatio = ratios((at) =>
      ratio(p('cross', at) - p('same', at), p('relay', at) - p('same', at)),
    );
    const paperRatio = ratios((at) => ratio(p('cross', at) - p('same', at), p('same', at)));
    const bridgeRatio = ratios((at) => ratio(p('cross', at), p('mosquitto', at)));
    const within = (value: number | undefined) => value !== undefined && value <= ratioTarget;
    const met = within(relayRatio.p50) && within(relayRatio.p99);
    return { rate, repetition, paths, relayRatio, paperRatio, bridgeRatio, met };
  }

  #paths(): PathName[] {
    return DELAY_ORDER.filter((path) => this.#ctx.system.paths.includes(path));
  }

  #run(
    path: PathName,
    rate: number,
    stopWhenFailed: boolean,
    label: string,
    seconds = this.#ctx.durationS,
  ): Promise<RunResult> {
    const { durationS, warmupS, p99LimitMs, system, progress } = this.#ctx;
    return measureRun(
      {
        label,
        runId: this.#nextRunId++,
        path,
        rate,
        durationMs: seconds * 1000,
        // A shorter run (the warm-up) leaves out the same share of its start.
        warmupMs: (seconds * warmupS * 1000) / durationS,
        limitMs: p99LimitMs,
        stopWhenFailed,
      },
      system,
      (text) => progress.update(text),
    );
  }

  /** One line per run on stderr, so a log shows how far a long run got and what it saw. */
  #log(what: string, result: RunResult): void {
    const cores = Object.entries(result.cores)
      .filter(([, value]) => value >= 0.01)
      .map(([name, value]) => `${name} ${value.toFixed(2)}`)
      .join(', ');
    const notes = result.notes.length === 0 ? '' : `; ${result.notes.join('; ')}`;
    const d = result.delivery;
    const qos1 =
      d === null
        ? ''
        : ` (QoS 1: acknowledged ${d.acknowledged}/${d.sent}, lost ${d.lost}, ` +
          `duplicated ${d.duplicated})`;
    this.#ctx.progress.log(
      `${what}: lost ${result.lost}/${result.sent}${qos1}, p50 ${result.latencyMs.p50} ms, ` +
        `p99 ${result.latencyMs.p99} ms, publisher lag p99 ${result.publisherLagMs.p99} ms; ` +
        `cores: ${cores}${notes}`,
    );
  }
}
