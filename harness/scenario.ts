import { z } from 'zod';
import {
  describeIssues,
  isValidTopicFilter,
  isValidTopicName,
  MqfedError,
  serviceIdSchema,
} from '../system/protocol/index.ts';
import type { MobilityModel } from './mobility-model.ts';
import { checkNetwork, networkSchema } from './network/network-spec.ts';
import { explainUnknownFields } from './unknown-fields.ts';
import { PAYLOAD_HEADER_BYTES } from './workload/payload.ts';

/**
 * A scenario: one experiment, declared in one small typed file under scenarios/ with
 * `defineScenario`. It is untrusted input (a researcher's file), so it is validated on load with
 * one schema and a broken field is named in the error (design §3). Topic templates may use `{i}`
 * (the client's index within its group) and `{group}` (the group's name), so one line declares a
 * whole group of distinct topics.
 */

const brokerName = serviceIdSchema;
const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_", "-"');
const qos = z.union([z.literal(0), z.literal(1)]);
const positiveInt = z.number().int().positive();

/** A template is checked with `{i}` and `{group}` filled in, as that is what reaches the broker. */
const filled = (template: string) => template.replaceAll('{i}', '0').replaceAll('{group}', 'g');
const topicTemplate = z
  .string()
  .refine((t) => isValidTopicName(filled(t)), 'not a valid MQTT topic name (wildcards?)');
const filterTemplate = z
  .string()
  .refine((t) => isValidTopicFilter(filled(t)), 'not a valid MQTT topic filter');

/** One broker, or several over which the group's clients are spread round-robin. */
const placement = z.union([brokerName, z.array(brokerName).min(1)]);
/**
 * The host a group's clients sit on, when the scenario declares a network: their connections
 * then cross the link from this host to their broker's. Unset, they reach their broker directly.
 */
const clientHost = name.optional();

const publisherGroupSchema = z.strictObject({
  name,
  count: positiveInt.default(1),
  broker: placement,
  host: clientHost,
  /** Messages per second, per publisher. */
  rate: z.number().positive().max(100_000),
  payloadBytes: z
    .number()
    .int()
    .min(PAYLOAD_HEADER_BYTES)
    .max(256 * 1024)
    .default(64),
  qos: qos.default(0),
  /** Message n goes to topics[n % topics.length]. */
  topics: z.array(topicTemplate).min(1),
});

const subscriberGroupSchema = z.strictObject({
  name,
  count: positiveInt.default(1),
  broker: placement,
  host: clientHost,
  filters: z.array(filterTemplate).min(1),
  qos: qos.default(0),
});

const traceStepSchema = z.strictObject({
  tMs: z.number().nonnegative(),
  client: z.string().min(1),
  broker: brokerName,
});

const mobilitySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('round-robin'), dwellMs: positiveInt }),
  z.strictObject({
    kind: z.literal('random'),
    dwellMs: positiveInt,
    /** Defaults to the run's seed, so `--seed` replays the same moves. */
    seed: z.number().int().optional(),
  }),
  z.strictObject({ kind: z.literal('trace'), steps: z.array(traceStepSchema).min(1) }),
  z.strictObject({
    kind: z.literal('custom'),
    name: z.string().min(1),
    model: z.custom<MobilityModel>((v) => typeof v === 'function', 'expected a function'),
  }),
]);

const mobileGroupSchema = z.strictObject({
  name,
  count: positiveInt.default(1),
  /** The brokers the clients move between; a client starts on brokers[i % brokers.length]. */
  brokers: z.array(brokerName).min(1),
  host: clientHost,
  filters: z.array(filterTemplate).min(1),
  qos: qos.default(0),
  /**
   * A persistent MQTT session (clean session false, one client id for the run): the clients
   * subscribe once and rely on the session following them from broker to broker. Needs
   * `qos: 1`, the only QoS a session queues for an absent client. Default: a clean session per
   * connection, subscribing at each.
   */
  persistent: z.boolean().default(false),
  mobility: mobilitySchema,
  /** How often the model is asked where each client should be. */
  tickMs: positiveInt.default(50),
  /** Messages scheduled this long after a move began count in the `handover` phase. */
  handoverWindowMs: positiveInt.default(1_000),
  /**
   * And so do those scheduled this long before it: they were likely still in flight to the old
   * broker when the client left, so their loss is the move's, not the steady path's. [design]
   */
  handoverLeadMs: z.number().int().nonnegative().default(100),
});

const variantSchema = z.strictObject({
  name: z.string().min(1),
  /**
   * `single-broker` runs one broker and puts every client on it; `mosquitto-bridge` runs the
   * brokers as Mosquitto joined by static bridges (a star). Both are baselines for mqfed.
   */
  system: z.enum(['mqfed', 'single-broker', 'mosquitto-bridge']).default('mqfed'),
  /** Overrides the QoS of every publisher and subscriber. */
  qos: qos.optional(),
  /** Overrides `persistent` of every mobile group (`false`: the clean-session baseline). */
  persistent: z.boolean().optional(),
  /**
   * Overrides the scenario's `tls` for this variant: a plain and a TLS variant side by side
   * show what TLS costs. mqfed variants only; the baselines stay plain.
   */
  tls: z.boolean().optional(),
  /** Overrides where a group connects, by group name (for mobile groups: the brokers they visit). */
  placement: z.record(z.string(), placement).default({}),
});

/**
 * Something done to one broker mid-run (a crash, a hang, a pulled cable) and its undoing.
 * Not every topology kind can do every action; the run says so before it starts.
 */
const faultSchema = z.strictObject({
  /** When, after the publish schedule began (warm-up included); `--quick` scales it. */
  atMs: z.number().int().nonnegative(),
  broker: brokerName,
  /**
   * `cut-links` and `restore-links` act on the broker's peer links only: its MQTT clients stay
   * connected while the federation around it is cut off.
   */
  action: z.enum([
    'kill',
    'stop',
    'restart',
    'pause',
    'resume',
    'disconnect',
    'reconnect',
    'cut-links',
    'restore-links',
  ]),
});

const scenarioSchema = z
  .strictObject({
    name,
    description: z.string().default(''),
    brokers: z.array(brokerName).min(1),
    /**
     * Where `mqfed run` puts the services unless `--topology` says otherwise. `containers` falls
     * back to `processes`, with one line saying so, where no Docker engine answers.
     */
    topology: z.enum(['in-process', 'processes', 'containers', 'swarm']).default('processes'),
    /** Hosts and the links between them; unset, every service and client shares one host. */
    network: networkSchema.optional(),
    /**
     * TLS on every hop of the federation (HTTPS, WSS, MQTTS), from a CA made for each run, as
     * `mqfed` runs by default. [design] Off unless asked, so that figures stay comparable with
     * earlier results; the containers topology is plain whatever this says (it has no shared CA).
     */
    tls: z.boolean().default(false),
    clients: z.strictObject({
      publishers: z.array(publisherGroupSchema).min(1),
      subscribers: z.array(subscriberGroupSchema).default([]),
      mobile: z.array(mobileGroupSchema).default([]),
    }),
    /** The publish schedule, warm-up included. */
    durationMs: positiveInt,
    /** Messages scheduled in the first `warmupMs` are sent but neither counted nor recorded. */
    warmupMs: z.number().int().nonnegative(),
    /** After the last scheduled send, time for messages in flight to arrive before loss is counted. */
    drainMs: z.number().int().nonnegative().default(1_000),
    seed: z.number().int().default(1),
    /**
     * Repetitions of every variant that `mqfed run` makes unless `--repeat` says otherwise; each
     * on a fresh topology, interleaved. One run of a noisy figure proves nothing (design §4), so
     * a scenario meant for publishing asks for several.
     */
    repeat: positiveInt.max(100).default(1),
    /** Faults, in time order; single-broker variants skip them (they have one broker). */
    faults: z.array(faultSchema).default([]),
    /**
     * Clients that lose their broker connect to it again after this long, as devices do (their
     * subscriptions with them). Unset, a lost connection stays lost, which a fault-free run
     * wants: a silent reconnect would hide it.
     */
    clientReconnectMs: positiveInt.optional(),
    variants: z.array(variantSchema).min(1),
    /** Variants whose same- and cross-broker paths make `comparison`; default: every mqfed one. */
    compareVariants: z.array(z.string()).optional(),
    /** What `--quick` uses instead, so a quick run stays well under a minute. */
    quick: z
      .strictObject({
        durationMs: positiveInt,
        warmupMs: z.number().int().nonnegative(),
        /** Repetitions under `--quick`; default: the scenario's `repeat`. */
        repeat: positiveInt.max(100).optional(),
        /**
         * A smaller run under `--quick` (`applyQuick`): only these brokers, these groups with
         * this many clients, and placed here (by group name, as a variant's `placement`).
         */
        brokers: z.array(brokerName).min(1).optional(),
        counts: z.record(z.string(), positiveInt).optional(),
        placement: z.record(z.string(), placement).optional(),
      })
      .optional(),
    paper: z.strictObject({ overhead: z.number().nullable(), note: z.string() }),
  })
  .superRefine((s, ctx) => {
    const known = new Set(s.brokers);
    const checkBrokers = (value: string | string[], path: (string | number)[]) => {
      for (const [index, broker] of (Array.isArray(value) ? value : [value]).entries()) {
        if (!known.has(broker)) {
          ctx.addIssue({
            code: 'custom',
            path: Array.isArray(value) ? [...path, index] : path,
            message: `unknown broker "${broker}" (brokers: ${s.brokers.join(', ')})`,
          });
        }
      }
    };
    if (known.size !== s.brokers.length) {
      ctx.addIssue({ code: 'custom', path: ['brokers'], message: 'broker names repeat' });
    }
    if (s.network !== undefined) {
      checkNetwork(s.network, s.brokers, (path, message) =>
        ctx.addIssue({ code: 'custom', path: ['network', ...path], message }),
      );
    }
    const groups = new Set<string>();
    const kinds = ['publishers', 'subscribers', 'mobile'] as const;
    for (const kind of kinds) {
      for (const [index, group] of s.clients[kind].entries()) {
        if (groups.has(group.name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['clients', kind, index, 'name'],
            message: `group name "${group.name}" is used twice`,
          });
        }
        groups.add(group.name);
        if (group.host !== undefined && !(group.host in (s.network?.hosts ?? {}))) {
          ctx.addIssue({
            code: 'custom',
            path: ['clients', kind, index, 'host'],
            message:
              s.network === undefined
                ? 'a client host needs a network declaring it'
                : `no host "${group.host}" in network.hosts`,
          });
        }
        if ('broker' in group) checkBrokers(group.broker, ['clients', kind, index, 'broker']);
        if ('brokers' in group) checkBrokers(group.brokers, ['clients', kind, index, 'brokers']);
        if ('mobility' in group && group.mobility.kind === 'trace') {
          for (const [step, { broker }] of group.mobility.steps.entries()) {
            checkBrokers(broker, ['clients', kind, index, 'mobility', 'steps', step, 'broker']);
          }
        }
      }
    }
    if (s.clients.subscribers.length + s.clients.mobile.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['clients', 'subscribers'],
        message: 'a scenario needs at least one subscriber or mobile client',
      });
    }
    if (s.warmupMs >= s.durationMs) {
      ctx.addIssue({ code: 'custom', path: ['warmupMs'], message: 'must be below durationMs' });
    }
    if (s.quick !== undefined && s.quick.warmupMs >= s.quick.durationMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['quick', 'warmupMs'],
        message: 'must be below quick.durationMs',
      });
    }
    let lastFaultMs = 0;
    for (const [index, fault] of s.faults.entries()) {
      checkBrokers(fault.broker, ['faults', index, 'broker']);
      if (fault.atMs >= s.durationMs || fault.atMs < lastFaultMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['faults', index, 'atMs'],
          message: 'faults must be in time order, within durationMs',
        });
      }
      lastFaultMs = fault.atMs;
    }
    const variantNames = new Set<string>();
    for (const [index, variant] of s.variants.entries()) {
      if (variantNames.has(variant.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['variants', index, 'name'],
          message: `variant name "${variant.name}" is used twice`,
        });
      }
      variantNames.add(variant.name);
      for (const [g, group] of s.clients.mobile.entries()) {
        const persistent = variant.persistent ?? group.persistent;
        if (persistent && (variant.qos ?? group.qos) !== 1) {
          ctx.addIssue({
            code: 'custom',
            path:
              variant.qos === undefined
                ? ['clients', 'mobile', g, 'qos']
                : ['variants', index, 'qos'],
            message: `a persistent mobile group ("${group.name}") needs qos: 1 (a session queues only QoS 1 messages for an absent client)${
              variant.qos === undefined ? '' : ` in variant "${variant.name}"`
            }`,
          });
        }
      }
      for (const [group, value] of Object.entries(variant.placement)) {
        const path = ['variants', index, 'placement', group];
        if (!groups.has(group)) {
          ctx.addIssue({ code: 'custom', path, message: `no client group "${group}"` });
        }
        checkBrokers(value, path);
      }
    }
    for (const [index, variant] of (s.compareVariants ?? []).entries()) {
      if (!variantNames.has(variant)) {
        ctx.addIssue({
          code: 'custom',
          path: ['compareVariants', index],
          message: `no variant "${variant}"`,
        });
      }
    }
  });

/** What a scenario file writes: defaults may be left out. */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** A validated scenario, every default filled in. */
export type Scenario = Readonly<z.output<typeof scenarioSchema>>;
export type PublisherGroup = z.output<typeof publisherGroupSchema>;
export type SubscriberGroup = z.output<typeof subscriberGroupSchema>;
export type MobileGroup = z.output<typeof mobileGroupSchema>;
export type MobilitySpec = z.output<typeof mobilitySchema>;
export type ScenarioVariant = z.output<typeof variantSchema>;
export type TraceStep = z.output<typeof traceStepSchema>;
export type Fault = z.output<typeof faultSchema>;

/**
 * Validates a scenario and fills in its defaults. A broken one throws INVALID_REQUEST whose message
 * starts with the dotted path of each bad field, e.g. `clients.publishers.0.rate: ...`. Every
 * object is strict: a misspelled key would otherwise be dropped and its default silently used, so
 * it is refused with the key it likely meant (`...payloadByte: unknown field; did you mean
 * "payloadBytes"?`).
 */
export function defineScenario(spec: ScenarioInput): Scenario {
  const parsed = scenarioSchema.safeParse(spec);
  if (!parsed.success) {
    const label = typeof spec?.name === 'string' ? ` ${spec.name}` : '';
    const issues = explainUnknownFields(scenarioSchema, spec, parsed.error.issues);
    throw new MqfedError('INVALID_REQUEST', `scenario${label}: ${describeIssues(issues)}`);
  }
  const scenario = Object.freeze(parsed.data);
  const { quick } = scenario;
  if (
    quick?.brokers !== undefined ||
    quick?.counts !== undefined ||
    quick?.placement !== undefined
  ) {
    // The smaller run must hold together too (its brokers, its groups), and is said to be the quick one.
    try {
      applyQuick(scenario);
    } catch (error) {
      const message = (error as Error).message.replace(/^scenario [^:]*: /, '');
      throw new MqfedError(
        'INVALID_REQUEST',
        `scenario ${scenario.name}: under --quick: ${message}`,
      );
    }
  }
  return scenario;
}

/**
 * The scenario `--quick` runs: with its `quick` brokers, client counts and placements, where it
 * declares them (its timing stays in `quick`, for `effectiveTiming`). Validated as any scenario;
 * a group name that is not one is refused.
 */
export function applyQuick(scenario: Scenario): Scenario {
  const quick = scenario.quick;
  if (quick === undefined) return scenario;
  const { brokers, counts = {}, placement: placed = {}, ...timing } = quick;
  const groups = new Set(
    [
      ...scenario.clients.publishers,
      ...scenario.clients.subscribers,
      ...scenario.clients.mobile,
    ].map((group) => group.name),
  );
  for (const name of [...Object.keys(counts), ...Object.keys(placed)]) {
    if (!groups.has(name)) {
      throw new MqfedError('INVALID_REQUEST', `quick: no client group "${name}"`);
    }
  }
  const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
  return defineScenario({
    ...scenario,
    brokers: brokers ?? scenario.brokers,
    clients: {
      publishers: scenario.clients.publishers.map((group) => ({
        ...group,
        count: counts[group.name] ?? group.count,
        broker: placed[group.name] ?? group.broker,
      })),
      subscribers: scenario.clients.subscribers.map((group) => ({
        ...group,
        count: counts[group.name] ?? group.count,
        broker: placed[group.name] ?? group.broker,
      })),
      mobile: scenario.clients.mobile.map((group) => ({
        ...group,
        count: counts[group.name] ?? group.count,
        brokers: placed[group.name] === undefined ? group.brokers : list(placed[group.name]!),
      })),
    },
    quick: timing,
  });
}

/**
 * Validates whatever a scenario file exported. A file made with `defineScenario` passes again
 * unchanged; one that built its object by hand gets the same field-naming errors.
 */
export function parseScenario(value: unknown): Scenario {
  return defineScenario(value as ScenarioInput);
}

/** A topic or filter template with the client's index and group filled in. */
export function fillTemplate(template: string, group: string, index: number): string {
  return template.replaceAll('{i}', String(index)).replaceAll('{group}', group);
}

/** The duration and warm-up a run uses: the scenario's, or its `quick` ones (or shortened). */
export function effectiveTiming(
  scenario: Scenario,
  quick: boolean,
): { durationMs: number; warmupMs: number } {
  if (!quick) return { durationMs: scenario.durationMs, warmupMs: scenario.warmupMs };
  if (scenario.quick !== undefined) {
    return { durationMs: scenario.quick.durationMs, warmupMs: scenario.quick.warmupMs };
  }
  // [design] No quick timing declared: a fifth of the run, at least 3 s, warm-up capped at 1 s.
  const durationMs = Math.min(scenario.durationMs, Math.max(3_000, scenario.durationMs / 5));
  return { durationMs, warmupMs: Math.min(scenario.warmupMs, 1_000, durationMs / 3) };
}
