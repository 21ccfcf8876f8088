import { z } from 'zod';
import { hostLoadSchema } from './host-load.ts';

/**
 * The results document of one testbed run, `mqfed.results/v2` (docs/results.md). Reports and
 * comparisons are pure functions of it, so it carries everything they show: figures, encoded
 * histograms, timelines, service samples, the run's parameters and environment. [design] A new
 * field that old readers may ignore keeps the version; anything else makes a new one. v2 keeps
 * every repetition of a run (a figure from one run proves nothing on a noisy machine), the
 * measuring floor, the machine's noise and cost figures; `parseResults` reads v1 documents too,
 * as runs of one repetition.
 */
export const RESULTS_SCHEMA = 'mqfed.results/v2';
export const RESULTS_SCHEMA_V1 = 'mqfed.results/v1';

const ms = z.number().nonnegative();
const count = z.number().int().nonnegative();

export const latencySchema = z.object({
  p50: ms,
  p90: ms,
  p99: ms,
  p999: ms,
  max: ms,
  mean: ms,
});

export const countsSchema = z.object({
  sent: count,
  received: count,
  lost: count,
  duplicates: count,
  reordered: count,
});

/** One second of a variant's run: what was sent and received, and the delay within it. */
export const timelinePointSchema = z.object({
  tMs: ms,
  sent: count,
  received: count,
  p50Ms: ms.optional(),
  p99Ms: ms.optional(),
});

/** A mobile client's move: from disconnect at `from` to its first message at `to`. */
export const handoverSchema = z.object({
  tMs: ms,
  client: z.string(),
  from: z.string(),
  to: z.string(),
  /** Disconnect at the old broker → first message at the new one; absent if none arrived. */
  gapMs: ms.optional(),
  /** CONNECT to the new broker → its CONNACK; absent in older documents. */
  transferMs: ms.optional(),
  /** The CONNACK's session present flag; absent in older documents. */
  sessionPresent: z.boolean().optional(),
});

/** A fault the run carried out on a broker: when it began, how long it took, and if it failed. */
export const faultRecordSchema = z.object({
  tMs: ms,
  broker: z.string(),
  action: z.string(),
  tookMs: ms,
  error: z.string().optional(),
});

/**
 * A figure over a run's repetitions: the median, and a 95 % confidence interval for it
 * (`statistics.ts` says how it is drawn). With one repetition `lo` and `hi` equal the estimate
 * and say nothing about noise; readers show such an interval as missing, not as exact.
 */
export const intervalSchema = z.object({
  estimate: z.number(),
  lo: z.number(),
  hi: z.number(),
  /** How many repetitions it rests on. */
  n: count,
});

/**
 * What a variant cost, figures that noise moves far less than delay [design]: CPU time per
 * delivered message of each service (µs; by the names of `services`), and bytes that crossed
 * peer links per delivered message (null where the topology cannot read them, or none crossed).
 */
export const costSchema = z.object({
  /** Messages delivered to subscribers (after warm-up), what the figures are divided by. */
  delivered: count,
  cpuUsPerMessage: z.record(z.string(), z.number().nonnegative()),
  linkBytesPerMessage: z.number().nonnegative().nullable(),
});

/**
 * One row of a variant's delivery accounting: the deliveries made at one QoS (the lower of the
 * publisher's and the subscriber's), after the warm-up (docs/results.md states each rule).
 * `delivered + lost = expected` holds exactly; `duplicated` and `deliveredUnacknowledged` count
 * arrivals beside them.
 */
export const deliveryAccountSchema = z.object({
  qos: z.union([z.literal(0), z.literal(1)]),
  /** Publishes handed to their MQTT client by the publishers of these deliveries. */
  sent: count,
  /** Of those, the ones the broker acknowledged (PUBACK); null at QoS 0, which has none. */
  acknowledged: count.nullable(),
  /**
   * Deliveries owed: for each (publisher, subscriber) path whose filters match, every message
   * handed over (QoS 0), or every message acknowledged (QoS 1), on a matching topic.
   */
  expected: count,
  /** Of `expected`, those the subscriber received at least once by the end of the drain. */
  delivered: count,
  /** Of `expected`, those it never received. */
  lost: count,
  /** Arrivals of a message the same subscriber had already received. */
  duplicated: count,
  /** Arrivals of a QoS 1 message whose PUBACK never came: received, but not owed. */
  deliveredUnacknowledged: count,
});

/**
 * One handover figure over every move of a variant: its percentiles and its HdrHistogram
 * (compressed base64, in µs, like `histogram`), which merges over repetitions and is what the
 * report draws. `count` is how many moves had the figure.
 */
export const handoverDistributionSchema = z.object({
  count,
  p50: ms,
  p99: ms,
  max: ms,
  histogram: z.string(),
});

/**
 * What the mobile clients' moves cost them (docs/results.md states each rule): client-side
 * figures from the harness's own timestamps, and the deliveries owed to mobile clients.
 */
export const handoverStatsSchema = z.object({
  /** Moves of mobile clients (a same-broker rejoin counts too). */
  handovers: count,
  mobileClients: count,
  /** Of them, those that kept a persistent session (MQTT clean session false). */
  persistentClients: count,
  /** CONNACKs after a move, of persistent clients, whose session present flag was 0. */
  sessionPresentMisses: count,
  /**
   * Deliveries owed to mobile clients after the warm-up (acknowledged at QoS 1, handed over at
   * QoS 0), and those of them never received. A persistent client is owed everything published
   * on its topics; a clean one nothing published while it had no session (between brokers).
   */
  owed: count,
  lost: count,
  /** Messages a clean client missed while it had no session: not owed, so not lost. */
  missedWithoutSession: count,
  /** Arrivals of a message the client already had, with the DUP flag set and without. */
  duplicates: z.object({ flagged: count, unflagged: count }),
  /**
   * CONNECT written to the new broker → its CONNACK: moving the session included, and the TCP
   * (and TLS) handshake, as MQTT.js writes the CONNECT as it opens the socket.
   */
  transferMs: handoverDistributionSchema,
  /** CONNACK at the new broker → the first message after it (moves after which one came). */
  gapMs: handoverDistributionSchema,
});

/**
 * One client host's clock against the harness's over one repetition (docs/results.md, "Clocks
 * across hosts"): read at the start, when the host was corrected by `offsetMs`, and again at the
 * end. Each offset is good to ± its bound (half the round trip it was read over); `drifted` says
 * the two differ by more than their bounds explain.
 */
export const clientHostClockSchema = z.object({
  host: z.string(),
  offsetMs: z.number(),
  errorBoundMs: ms,
  roundTripMs: ms,
  endOffsetMs: z.number().nullable(),
  endErrorBoundMs: ms.nullable(),
  driftMs: z.number().nullable(),
  drifted: z.boolean(),
  /** How the offsets were read: `shortest-round-trip` (request/reply, Cristian). */
  method: z.string(),
});

/** The figures of one repetition of a variant, each on a fresh topology. */
export const repetitionSchema = z.object({
  /** 0-based; repetitions of all variants are interleaved, so index i of each ran close in time. */
  index: count,
  startedAt: z.iso.datetime(),
  latencyMs: latencySchema,
  ...countsSchema.shape,
  byPath: z
    .record(
      z.enum(['same-broker', 'cross-broker']),
      z.object({ latencyMs: latencySchema, ...countsSchema.shape }),
    )
    .optional(),
  /**
   * How late the open-loop publishers sent against their schedule: the harness's own error.
   * Null where it was not measured (a v1 document).
   */
  publisherLagMs: latencySchema.nullable(),
  cost: costSchema,
  /** Its delivery accounting; absent in documents made before it was kept. */
  delivery: z.array(deliveryAccountSchema).optional(),
  /** Its handover figures, where it had mobile clients; absent in older documents. */
  handoverStats: handoverStatsSchema.optional(),
  /** Its client hosts' clocks, where clients ran on client hosts; absent otherwise. */
  clocks: z.array(clientHostClockSchema).optional(),
});

const deliveryCountsSchema = z.object({ sent: count, received: count, lost: count });

/** One broker out of service, and what it cost (harness/recording/fault-impact.ts). */
export const outageSchema = z.object({
  broker: z.string(),
  down: z.string(),
  up: z.string().nullable(),
  downAtMs: ms,
  upAtMs: ms.nullable(),
  /** Back up → every path through the broker delivers again; null if one never did. */
  recoveryMs: ms.nullable(),
  /**
   * Deliveries to or from the broker's clients scheduled while it was down; for a link cut,
   * those with exactly one end on the broker (across its links).
   */
  whileDown: deliveryCountsSchema,
  /** Deliveries on every other path, from the fault until recovery. */
  surviving: deliveryCountsSchema,
});

export const variantSchema = z.object({
  /** e.g. `same-broker qos0`, `cross-broker qos1`, `mosquitto-bridge`. */
  name: z.string().min(1),
  /** Which system ran: the federation, one broker, or Mosquitto bridges. */
  system: z.enum(['mqfed', 'single-broker', 'mosquitto-bridge']),
  /** TLS on every hop (HTTPS, WSS peer links, MQTTS clients); absent in plain runs. */
  tls: z.literal(true).optional(),
  latencyMs: latencySchema,
  ...countsSchema.shape,
  /** HdrHistogram, compressed and base64-encoded, of every delay after warm-up, in µs. */
  histogram: z.string(),
  /** The same split by path and phase, where the scenario has them. */
  byPath: z
    .record(
      z.enum(['same-broker', 'cross-broker']),
      z.object({ latencyMs: latencySchema, ...countsSchema.shape, histogram: z.string() }),
    )
    .optional(),
  byPhase: z
    .record(
      z.enum(['steady', 'handover']),
      z.object({ latencyMs: latencySchema, ...countsSchema.shape, histogram: z.string() }),
    )
    .optional(),
  timeline: z.array(timelinePointSchema),
  handovers: z.array(handoverSchema).default([]),
  /** The faults of a fault scenario, and the outages they made. */
  faults: z.array(faultRecordSchema).optional(),
  outages: z.array(outageSchema).optional(),
  /** What went wrong in the run that the figures alone do not show (unprimed routes, failed moves). */
  notes: z.array(z.string()).optional(),
  /**
   * Every repetition's figures, in run order. The fields above merge them: histograms and counts
   * over all repetitions; `timeline`, `handovers`, `faults` and `outages` are the first one's.
   */
  repetitions: z.array(repetitionSchema).min(1),
  /** Medians over the repetitions, with 95 % intervals. */
  intervals: z.object({ p50Ms: intervalSchema, p99Ms: intervalSchema }),
  /** Merged over the repetitions; null where not measured. */
  publisherLagMs: latencySchema.nullable(),
  cost: costSchema,
  /**
   * Sent, acknowledged, delivered, lost and duplicated messages, one row per QoS of delivery,
   * summed over the repetitions (each repetition keeps its own). Absent in older documents, and
   * where a publisher could not say what it handed over.
   */
  delivery: z.array(deliveryAccountSchema).optional(),
  /**
   * The handover figures of its mobile clients, summed and merged over the repetitions (each
   * repetition keeps its own). Absent without mobile clients, and in older documents.
   */
  handoverStats: handoverStatsSchema.optional(),
});

/**
 * The testbed's own measuring floor, taken before the variants run [design]: what a delay figure
 * cannot be smaller than, and what the harness adds to it. A hop much smaller than these is not
 * measurable on that machine.
 */
export const floorSchema = z.object({
  /** Lateness of the open-loop scheduler against its schedule, with nothing to send. */
  schedulerLagMs: latencySchema,
  /** Cost of recording one delivery (decode, match, histogram), in µs. */
  recordCostUs: z.number().nonnegative(),
  /** Delay of the zero-broker path: timestamped frames over a loopback TCP socket to itself. */
  loopbackMs: latencySchema,
});

/**
 * How busy the machine was, besides the run [design]: a figure from a busy machine is disclosed
 * as such rather than silently mixed with quiet ones.
 */
export const noiseSchema = z.object({
  /** 1-minute load average before the run, and the highest seen during it. */
  loadAverageBefore: z.number().nonnegative(),
  loadAverageMax: z.number().nonnegative(),
  /** CPU stolen by a hypervisor during the run, % of all CPUs (0 where not reported). */
  stealPercent: z.number().nonnegative(),
  /** CPU used by processes other than the run's own (harness and services), % of all CPUs. */
  otherCpuPercent: z.number().nonnegative(),
  /** Whether services and harness were pinned to CPUs, and how. */
  pinning: z.string().nullable(),
  /** Plain warnings: the machine was busy, CPU was stolen. Empty on a quiet machine. */
  warnings: z.array(z.string()),
});

export const serviceSampleSchema = z.object({
  tMs: ms,
  /** CPU used since the previous sample, in % of one core. */
  cpuPercent: z.number().nonnegative(),
  rssBytes: count,
});

/** Same-broker against cross-broker delay, and the overhead, of a run or of one repetition. */
const sameAndCrossSchema = z.object({
  sameBrokerP50Ms: ms,
  crossBrokerP50Ms: ms,
  /** Absent in documents upgraded from v1, which did not keep them. */
  sameBrokerP99Ms: ms.optional(),
  crossBrokerP99Ms: ms.optional(),
  /** (cross − same) / same; 0.5 means 50 %. */
  overheadP50: z.number(),
  overheadP99: z.number(),
});

export const resultsSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA),
  /** Repetitions of every variant (`--repeat`). */
  repetitions: z.number().int().positive(),
  scenario: z.string().min(1),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()),
  seed: z.number().int(),
  /** The commit the run was made from; null outside a git checkout. */
  gitCommit: z.string().nullable(),
  startedAt: z.iso.datetime(),
  durationMs: ms,
  environment: z.object({
    node: z.string(),
    platform: z.string(),
    arch: z.string(),
    cpus: count,
    cpuModel: z.string(),
    memoryBytes: count,
    topology: z.enum(['in-process', 'processes', 'containers', 'swarm']),
    /** How link delay between hosts was made, if any. */
    impairment: z.enum(['none', 'delay-proxy', 'netem']),
    /** How send and receive times were read: one clock in one process, or otherwise. */
    clock: z.string(),
    /**
     * Where the services ran, for a topology that spreads them over machines (swarm): how the
     * scenario's hosts were mapped to nodes, and the node of each service (first repetition).
     */
    placement: z
      .object({ summary: z.string(), services: z.record(z.string(), z.string()) })
      .optional(),
    /** The Mosquitto a baseline ran on (absent where none ran, and in older documents). */
    mosquitto: z.object({ path: z.string(), version: z.string() }).optional(),
  }),
  variants: z.array(variantSchema).min(1),
  floor: floorSchema.nullable(),
  noise: noiseSchema.nullable(),
  /** CPU and memory of each service, sampled during the run. */
  services: z.array(z.object({ name: z.string(), samples: z.array(serviceSampleSchema) })),
  /**
   * Load per host, derived from `services`: each client host's, broker's and the harness's CPU
   * over the measured windows and peak memory, also per 1,000 clients (host-load.ts). Absent in
   * older documents.
   */
  hostLoad: hostLoadSchema.optional(),
  comparison: z
    .object({
      /** The two paths compared: deliveries with publisher and subscriber on one broker, and on two. */
      paths: z.tuple([z.literal('same-broker'), z.literal('cross-broker')]),
      /** Medians over the repetitions (of the compared variants' steady deliveries). */
      ...sameAndCrossSchema.shape,
      intervals: z.object({
        overheadP50: intervalSchema,
        overheadP99: intervalSchema,
        sameBrokerP50Ms: intervalSchema,
        crossBrokerP50Ms: intervalSchema,
        sameBrokerP99Ms: intervalSchema.optional(),
        crossBrokerP99Ms: intervalSchema.optional(),
      }),
      /** Each repetition's own figures, in run order. */
      perRepetition: z.array(sameAndCrossSchema),
    })
    .nullable(),
  /** The paper's reference overhead for this scenario (its abstract): 0.5 or 0.27. */
  paper: z.object({ overhead: z.number().nullable(), note: z.string() }),
});

export type Latency = z.infer<typeof latencySchema>;
export type Interval = z.infer<typeof intervalSchema>;
export type Repetition = z.infer<typeof repetitionSchema>;
export type Cost = z.infer<typeof costSchema>;
export type DeliveryAccount = z.infer<typeof deliveryAccountSchema>;
export type HandoverStats = z.infer<typeof handoverStatsSchema>;
export type HandoverDistribution = z.infer<typeof handoverDistributionSchema>;
export type ClientHostClockRecord = z.infer<typeof clientHostClockSchema>;
export type Floor = z.infer<typeof floorSchema>;
export type Noise = z.infer<typeof noiseSchema>;
export type Comparison = NonNullable<z.infer<typeof resultsSchema>['comparison']>;
export type Variant = z.infer<typeof variantSchema>;
export type Results = z.infer<typeof resultsSchema>;
