import { z } from 'zod';

/**
 * The results document of one testbed run, `mqfed.results/v1` (docs/results.md). Reports and
 * comparisons are pure functions of it, so it carries everything they show: figures, encoded
 * histograms, timelines, service samples, the run's parameters and environment. [design] A new
 * field that old readers may ignore keeps v1; anything else is v2.
 */
export const RESULTS_SCHEMA = 'mqfed.results/v1';

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
});

/** A fault the run carried out on a broker: when it began, how long it took, and if it failed. */
export const faultRecordSchema = z.object({
  tMs: ms,
  broker: z.string(),
  action: z.string(),
  tookMs: ms,
  error: z.string().optional(),
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
  /** Deliveries to or from the broker's clients scheduled while it was down. */
  whileDown: deliveryCountsSchema,
  /** Deliveries on every other path, from the fault until recovery. */
  surviving: deliveryCountsSchema,
});

export const variantSchema = z.object({
  /** e.g. `same-broker qos0`, `cross-broker qos1`, `mosquitto-bridge`. */
  name: z.string().min(1),
  /** Which system ran: the federation, one broker, or Mosquitto bridges. */
  system: z.enum(['mqfed', 'single-broker', 'mosquitto-bridge']),
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
});

export const serviceSampleSchema = z.object({
  tMs: ms,
  /** CPU used since the previous sample, in % of one core. */
  cpuPercent: z.number().nonnegative(),
  rssBytes: count,
});

export const resultsSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA),
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
    topology: z.enum(['in-process', 'processes', 'containers']),
    /** How link delay between hosts was made, if any. */
    impairment: z.enum(['none', 'delay-proxy', 'netem']),
    /** How send and receive times were read: one clock in one process, or otherwise. */
    clock: z.string(),
  }),
  variants: z.array(variantSchema).min(1),
  /** CPU and memory of each service, sampled during the run. */
  services: z.array(z.object({ name: z.string(), samples: z.array(serviceSampleSchema) })),
  comparison: z
    .object({
      sameBrokerP50Ms: ms,
      crossBrokerP50Ms: ms,
      /** (cross − same) / same; 0.5 means 50 %. */
      overheadP50: z.number(),
      overheadP99: z.number(),
    })
    .nullable(),
  /** The paper's reference overhead for this scenario (its abstract): 0.5 or 0.27. */
  paper: z.object({ overhead: z.number().nullable(), note: z.string() }),
});

export type Latency = z.infer<typeof latencySchema>;
export type Variant = z.infer<typeof variantSchema>;
export type Results = z.infer<typeof resultsSchema>;
