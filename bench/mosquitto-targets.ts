import { brokerLabels, type FederationKind } from './paths.ts';
import type { DelayAtRate, RunResult, ThroughputResults } from './results.ts';

/**
 * What a federation hop should cost against a Mosquitto static bridge, measured in the same run
 * with the same clients, payloads and rates. Ratios are mqfed / Mosquitto; the benchmark reports
 * them, tests never assert them (a loaded machine moves them).
 */
export const MOSQUITTO_TARGETS = {
  /** (cross − same) at p50 against the bridge's (bridge − same broker), at every rate: at most. */
  hopP50: 1,
  /** Cross-broker p99 against the bridge path's p99, at every rate: at most. */
  crossP99: 1.5,
  /** CPU per forwarded message, sending plus receiving broker, against both Mosquittos: at most. */
  cpuPerMessage: 2,
  /** Highest loss-free rate through one link against the bridge's: at least. */
  throughput: 1,
} as const;

/** One figure over the repetitions of the run: its median and range, and every value. */
export interface Spread {
  median: number | undefined;
  min: number | undefined;
  max: number | undefined;
  /** Per repetition, in order; undefined where it could not be computed (see `ratioOf`). */
  values: (number | undefined)[];
}

export interface TargetFigure {
  /** mqfed's figure (ms, µs per message or msg/s), per repetition. */
  mqfed: Spread;
  mosquitto: Spread;
  /** mqfed / Mosquitto per repetition (paired: the two runs of one repetition). */
  ratio: Spread;
  /** The target ratio: at most (`atMost`) or at least. */
  limit: number;
  atMost: boolean;
  /** The median ratio against the limit; null when no repetition gave a ratio. */
  met: boolean | null;
  /**
   * The same figure for a zero-logic Node process hop (the relay path) in the same repetitions,
   * and its ratio to Mosquitto's: what any hop through a Node process pays before it does any
   * work. A floor ratio above the limit says the target is out of reach of a Node hop, whatever
   * the federation does. Absent where the run had no relay path, and for the searches (the relay
   * is not searched).
   */
  nodeFloor?: { value: Spread; ratio: Spread };
}

export interface RateComparison {
  rate: number;
  hopP50: TargetFigure;
  crossP99: TargetFigure;
  cpuPerMessage: TargetFigure;
}

export interface MosquittoComparison {
  repetitions: number;
  rates: RateComparison[];
  /** One search each, so one value each: the spread is across runs of the bench. */
  throughput: TargetFigure | undefined;
  /**
   * CPU per message, both brokers, at mqfed's highest loss-free rate, where the bridge's search
   * starts: the cost of a hop under load rather than of a wake-up per message.
   */
  cpuAtLoad: (TargetFigure & { rate: number }) | undefined;
  /** Every target met (a target that could not be computed counts as not met). */
  met: boolean;
}

/** A ratio where the denominator is positive; a hop of Mosquitto's under the noise gives none. */
export function ratioOf(mqfed: number | undefined, mosquitto: number | undefined) {
  if (mqfed === undefined || mosquitto === undefined || !(mosquitto > 0)) return undefined;
  return mqfed / mosquitto;
}

export function spread(values: (number | undefined)[]): Spread {
  const known = values.filter((value): value is number => value !== undefined);
  known.sort((a, b) => a - b);
  const middle = known.length / 2;
  const median =
    known.length === 0
      ? undefined
      : known.length % 2 === 1
        ? known[Math.floor(middle)]
        : (known[middle - 1]! + known[middle]!) / 2;
  return { median, min: known[0], max: known.at(-1), values };
}

/** A spread as text: its median, then `[min–max]` when the repetitions differ; `n/a` if none. */
export function spreadText(figure: Spread, format: (value: number) => string): string {
  if (figure.median === undefined) return 'n/a';
  const middle = format(figure.median);
  if (figure.values.length < 2 || figure.min === figure.max) return middle;
  return `${middle} [${format(figure.min!)}–${format(figure.max!)}]`;
}

interface Pair {
  mqfed: number | undefined;
  mosquitto: number | undefined;
  /** The relay path's figure in the same repetition (see `TargetFigure.nodeFloor`). */
  floor?: number | undefined;
}

function figure(pairs: Pair[], limit: number, atMost: boolean): TargetFigure {
  const ratio = spread(pairs.map((pair) => ratioOf(pair.mqfed, pair.mosquitto)));
  const met =
    ratio.median === undefined ? null : atMost ? ratio.median <= limit : ratio.median >= limit;
  const floors = pairs.map((pair) => pair.floor);
  return {
    mqfed: spread(pairs.map((pair) => pair.mqfed)),
    mosquitto: spread(pairs.map((pair) => pair.mosquitto)),
    ratio,
    limit,
    atMost,
    met,
    ...(floors.every((floor) => floor === undefined)
      ? {}
      : {
          nodeFloor: {
            value: spread(floors),
            ratio: spread(pairs.map((pair) => ratioOf(pair.floor, pair.mosquitto))),
          },
        }),
  };
}

const p = (run: RunResult | undefined, at: 'p50' | 'p99') => run?.latencyMs[at];
const minus = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a - b;
/**
 * CPU per delivered message of the two brokers of a run, µs; undefined if one is missing. Both
 * may be one process (`mqfed up`): it is counted once.
 */
function cpuOf(run: RunResult | undefined, brokers: { a: string; b: string }): number | undefined {
  const cost = run?.cost.cpuUsPerMessage;
  let sum = 0;
  for (const label of new Set([brokers.a, brokers.b])) {
    const value = cost?.[label];
    if (value === undefined) return undefined;
    sum += value;
  }
  return sum;
}

/**
 * The least a federation of Node processes can spend per message: the relay's CPU once for every
 * broker process of the federation (two, or one under `mqfed up`), as each must at least wake,
 * read the message and write it.
 */
function floorCpuOf(run: RunResult | undefined, brokers: { a: string; b: string }) {
  const relay = run?.cost.cpuUsPerMessage.relay;
  return relay === undefined ? undefined : relay * new Set([brokers.a, brokers.b]).size;
}

/**
 * The targets from one run of the bench: per rate from its delay runs (every repetition paired
 * with its own Mosquitto runs), and from the two throughput searches. Undefined when the run
 * measured no Mosquitto path or no cross path.
 */
export function compareWithMosquitto(
  delay: readonly DelayAtRate[] | undefined,
  throughput: readonly ThroughputResults[] | undefined,
  federation: FederationKind = 'processes',
): MosquittoComparison | undefined {
  const mqfedBrokers = brokerLabels('cross', federation);
  const bridgeBrokers = brokerLabels('mosquitto');
  const runs = delay ?? [];
  const measured = runs.some((d) => d.paths.mosquitto !== undefined && d.paths.cross !== undefined);
  const cross = throughput?.find((search) => search.path === 'cross');
  const bridge = throughput?.find((search) => search.path === 'mosquitto');
  if (!measured && (cross === undefined || bridge === undefined)) return undefined;
  const rates = [...new Set(runs.map((d) => d.rate))].map((rate): RateComparison => {
    const at = runs.filter((d) => d.rate === rate);
    return {
      rate,
      hopP50: figure(
        at.map(({ paths }) => ({
          mqfed: minus(p(paths.cross, 'p50'), p(paths.same, 'p50')),
          mosquitto: minus(p(paths.mosquitto, 'p50'), p(paths['mosquitto-same'], 'p50')),
          floor: minus(p(paths.relay, 'p50'), p(paths.same, 'p50')),
        })),
        MOSQUITTO_TARGETS.hopP50,
        true,
      ),
      crossP99: figure(
        at.map(({ paths }) => ({
          mqfed: p(paths.cross, 'p99'),
          mosquitto: p(paths.mosquitto, 'p99'),
          floor: p(paths.relay, 'p99'),
        })),
        MOSQUITTO_TARGETS.crossP99,
        true,
      ),
      cpuPerMessage: figure(
        at.map(({ paths }) => ({
          mqfed: cpuOf(paths.cross, mqfedBrokers),
          mosquitto: cpuOf(paths.mosquitto, bridgeBrokers),
          floor: floorCpuOf(paths.relay, mqfedBrokers),
        })),
        MOSQUITTO_TARGETS.cpuPerMessage,
        true,
      ),
    };
  });
  const searched =
    cross === undefined || bridge === undefined
      ? undefined
      : figure(
          [{ mqfed: cross.highestPass ?? 0, mosquitto: bridge.highestPass }],
          MOSQUITTO_TARGETS.throughput,
          false,
        );
  const cpuAtLoad = loadedCpu(cross, bridge, mqfedBrokers, bridgeBrokers);
  const verdicts = [
    ...rates.flatMap((r) => [r.hopP50.met, r.crossP99.met, r.cpuPerMessage.met]),
    ...(searched === undefined ? [] : [searched.met]),
    ...(cpuAtLoad === undefined ? [] : [cpuAtLoad.met]),
  ];
  return {
    repetitions: Math.max(0, ...runs.map((d) => d.repetition)),
    rates,
    throughput: searched,
    cpuAtLoad,
    met: verdicts.length > 0 && verdicts.every((met) => met === true),
  };
}

/** Both searches' runs at mqfed's highest pass, if the bridge's search ran that rate too. */
function loadedCpu(
  cross: ThroughputResults | undefined,
  bridge: ThroughputResults | undefined,
  mqfedBrokers: { a: string; b: string },
  bridgeBrokers: { a: string; b: string },
): MosquittoComparison['cpuAtLoad'] {
  const rate = cross?.highestPass;
  if (rate === undefined) return undefined;
  const mqfed = cross?.trials.find((trial) => trial.rate === rate);
  const mosquitto = bridge?.trials.find((trial) => trial.rate === rate);
  if (mqfed === undefined || mosquitto === undefined) return undefined;
  return {
    rate,
    ...figure(
      [
        {
          mqfed: cpuOf(mqfed, mqfedBrokers),
          mosquitto: cpuOf(mosquitto, bridgeBrokers),
        },
      ],
      MOSQUITTO_TARGETS.cpuPerMessage,
      true,
    ),
  };
}
