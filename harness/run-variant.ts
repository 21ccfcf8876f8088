import { seededRandom } from '../system/common/index.ts';
import { topicMatches } from '../system/protocol/index.ts';
import { mosquittoBridgesTopology } from './baselines/mosquitto-topology.ts';
import { clientRandom, createMobility } from './mobility.ts';
import {
  DeliveryRecorder,
  type Expectation,
  type PathName,
  type RecordedPublisher,
} from './recording/delivery-recorder.ts';
import { type AppliedFault, type FaultImpactInput, outagesOf } from './recording/fault-impact.ts';
import type { Variant } from './results-schema.ts';
import { fillTemplate, type Scenario, type ScenarioVariant } from './scenario.ts';
import type { StartedTopology, Topology } from './topology/topology.ts';
import {
  type ClientFactory,
  localClients,
  type PublisherConnection,
} from './workload/client-connection.ts';
import { checkFaults, FaultDriver } from './workload/fault-driver.ts';
import { type MobileClient, MobilityDriver } from './workload/mobility-driver.ts';
import { inBatches } from './workload/mqtt-connect.ts';
import type { PublisherSchedule } from './workload/open-loop-publisher.ts';
import { encodeMessage, nowMs } from './workload/payload.ts';
import {
  type ArrivalSink,
  SimulatedSubscriber,
  type SubscriberSpec,
} from './workload/simulated-subscriber.ts';

export interface VariantProgress {
  variant: string;
  phase: 'starting' | 'priming' | 'running' | 'draining';
  elapsedMs: number;
  totalMs: number;
  received: number;
}

export interface RunVariantOptions {
  scenario: Scenario;
  variant: ScenarioVariant;
  durationMs: number;
  warmupMs: number;
  seed: number;
  topology: Topology;
  onProgress?: (progress: VariantProgress) => void;
  /** How long priming may take before the run goes ahead with the routes it has. */
  primeTimeoutMs?: number;
  /** Told when the variant's topology is up, and just before it closes (resource sampling). */
  onTopologyStarted?: (topology: StartedTopology) => void;
  onTopologyClosing?: () => void;
}

export interface VariantRun {
  result: Variant;
  recorder: DeliveryRecorder;
}

/** How many clients connect at once: enough to be quick, few enough not to storm a broker. */
const CONNECT_CONCURRENCY = 32;
const PRIME_INTERVAL_MS = 100;
/** Lead time between arming the schedule and its first message, so every timer is set in time. */
const SCHEDULE_LEAD_MS = 200;

interface PlannedPublisher {
  id: string;
  broker: string;
  host: string | undefined;
  schedule: Omit<PublisherSchedule, 'startMs' | 'runId'>;
}

/**
 * Which publisher's messages each subscriber should receive, and on which of its topics.
 * [design] Publishers are indexed by topic, so a subscriber with exact filters looks up only its
 * own publishers: 4,000 subscribers × 1,000 publishers would be 4 million matches otherwise.
 */
function expectedDeliveries(
  subscribers: readonly SubscriberSpec[],
  publishers: readonly Pick<PublisherSchedule, 'publisher' | 'topics'>[],
): Expectation[] {
  const byTopic = new Map<string, Set<number>>();
  for (const [index, publisher] of publishers.entries()) {
    for (const topic of publisher.topics) {
      byTopic.set(topic, (byTopic.get(topic) ?? new Set()).add(index));
    }
  }
  const expectations: Expectation[] = [];
  for (const subscriber of subscribers) {
    const exact = subscriber.filters.every((filter) => !/[+#]/.test(filter));
    const candidates = exact
      ? new Set(subscriber.filters.flatMap((filter) => [...(byTopic.get(filter) ?? [])]))
      : publishers.keys();
    for (const index of [...candidates].sort((x, y) => x - y)) {
      const publisher = publishers[index]!;
      const matches = publisher.topics.map((topic) =>
        subscriber.filters.some((filter) => topicMatches(filter, topic)),
      );
      if (matches.some(Boolean)) {
        expectations.push({
          subscriber: subscriber.index,
          publisher: publisher.publisher,
          topicMatches: matches,
        });
      }
    }
  }
  return expectations;
}

/**
 * Where in its send interval publisher `index` starts. [design] Independent devices do not fire in
 * lockstep: a thousand publishers at 1 msg/s all sending on the same millisecond would measure a
 * burst the harness made, not the path. Phases follow the golden-ratio sequence, which spreads
 * any number of publishers evenly over the interval, and is the same on every run.
 */
export function phaseOffsetMs(index: number, rate: number): number {
  return (((index * 0.618_033_988_75) % 1) * 1000) / rate;
}

/** The faults a run carried out, and the outages they made, as the results carry them. */
function faultResults(
  applied: readonly AppliedFault[],
  recorder: DeliveryRecorder,
  clock: Omit<FaultImpactInput, 'faults' | 'deliveries'>,
): Pick<Variant, 'faults' | 'outages'> {
  return {
    faults: applied.map((fault) => ({
      tMs: Math.max(0, Math.round(fault.startMs - clock.scheduleStartMs)),
      broker: fault.broker,
      action: fault.action,
      tookMs: Math.round(fault.doneMs - fault.startMs),
      ...(fault.error === undefined ? {} : { error: fault.error }),
    })),
    outages: outagesOf({
      ...clock,
      faults: applied,
      deliveries: (visit) => recorder.forEachDelivery(visit),
    }),
  };
}

/** Every client group of a scenario. */
const groupsOf = (scenario: Scenario) => [
  ...scenario.clients.publishers,
  ...scenario.clients.subscribers,
  ...scenario.clients.mobile,
];

const pick = (value: string | readonly string[], index: number): string =>
  typeof value === 'string' ? value : value[index % value.length]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one variant of a scenario on a fresh topology: connects every client, primes the routes
 * (each publisher sends probes until every subscriber that wants its data has one, so the first
 * measured messages are not lost to a link still being set up), runs the open-loop schedule with
 * the mobility models moving mobile subscribers, drains, and turns the recorder into a results
 * variant. [design] A fresh topology per variant: links and sessions of one variant never carry
 * over into the next, and the single-broker baseline runs only the one broker it needs.
 */
export async function runVariant(options: RunVariantOptions): Promise<VariantRun> {
  const { scenario, variant, durationMs, warmupMs, seed } = options;
  const notes: string[] = [];
  const began = performance.now();
  const totalMs = durationMs + scenario.drainMs;
  let current: VariantProgress['phase'] = 'starting';
  const report = (phase: VariantProgress['phase'], received: number) => {
    current = phase;
    options.onProgress?.({
      variant: variant.name,
      phase,
      elapsedMs: performance.now() - began,
      totalMs,
      received,
    });
  };
  report('starting', 0);

  // The single-broker baseline keeps the scenario's broker names (mobility models still move
  // clients between them) but maps every one of them onto the first broker.
  const physical = (broker: string) =>
    variant.system === 'single-broker' ? scenario.brokers[0]! : broker;
  const placementOf = (group: string, declared: string | readonly string[]) =>
    variant.placement[group] ?? declared;
  const runId = (Math.random() * 2 ** 32) >>> 0;
  const clientIdPrefix = `h${runId.toString(36)}-`;

  const planned: PlannedPublisher[] = [];
  for (const group of scenario.clients.publishers) {
    for (let i = 0; i < group.count; i++) {
      planned.push({
        id: `${group.name}-${i}`,
        broker: pick(placementOf(group.name, group.broker), i),
        host: group.host,
        schedule: {
          publisher: planned.length,
          rate: group.rate,
          count: Math.floor((durationMs * group.rate) / 1000),
          topics: group.topics.map((topic) => fillTemplate(topic, group.name, i)),
          qos: variant.qos ?? group.qos,
          payloadBytes: group.payloadBytes,
        },
      });
    }
  }

  const reconnect =
    scenario.clientReconnectMs === undefined ? {} : { reconnectMs: scenario.clientReconnectMs };
  // [design] The single-broker baseline has one broker: a fault on one of the scenario's would
  // take every client down, which is not the experiment; it runs without them and says so.
  const faults = variant.system === 'single-broker' ? [] : scenario.faults;
  if (faults.length < scenario.faults.length) notes.push('faults skipped: one broker only');

  let sink: ArrivalSink = () => {};
  // Where a host's clients run: a client container the topology started for it, else here. Set
  // once the topology is up; subscribers ask at each connect.
  let clientsFor = (_host: string | undefined): ClientFactory => localClients;
  const forward: ArrivalSink = (subscriber, message, arrivalMs) =>
    sink(subscriber, message, arrivalMs);
  const subscribers: SimulatedSubscriber[] = [];
  const handoverWindows: { handoverWindowMs: number; handoverLeadMs: number }[] = [];
  const mobileOf = new Map<number, Omit<MobileClient, 'subscriber'>>();
  for (const group of scenario.clients.subscribers) {
    for (let i = 0; i < group.count; i++) {
      const spec = {
        index: subscribers.length,
        id: `${group.name}-${i}`,
        filters: group.filters.map((filter) => fillTemplate(filter, group.name, i)),
        qos: variant.qos ?? group.qos,
        ...(group.host === undefined ? {} : { host: group.host }),
        ...reconnect,
      };
      const broker = pick(placementOf(group.name, group.broker), i);
      subscribers.push(
        new SimulatedSubscriber(spec, broker, forward, clientIdPrefix, () => clientsFor(spec.host)),
      );
      handoverWindows.push({ handoverWindowMs: 0, handoverLeadMs: 0 });
    }
  }
  for (const group of scenario.clients.mobile) {
    const brokers = placementOf(group.name, group.brokers);
    const brokerList = typeof brokers === 'string' ? [brokers] : brokers;
    const model = createMobility(group.mobility, seed);
    for (let i = 0; i < group.count; i++) {
      const spec = {
        index: subscribers.length,
        id: `${group.name}-${i}`,
        filters: group.filters.map((filter) => fillTemplate(filter, group.name, i)),
        qos: variant.qos ?? group.qos,
        ...(group.host === undefined ? {} : { host: group.host }),
        ...reconnect,
      };
      const mobile = {
        index: i,
        count: group.count,
        brokers: brokerList,
        model,
        random: clientRandom(seed, spec.index),
        tickMs: group.tickMs,
      };
      // Where the model puts the client at time 0, else the group's round-robin start.
      const start =
        model(
          {
            id: spec.id,
            index: i,
            count: group.count,
            broker: pick(brokerList, i),
            brokers: brokerList,
          },
          0,
          mobile.random,
        ) ?? pick(brokerList, i);
      mobileOf.set(spec.index, mobile);
      subscribers.push(
        new SimulatedSubscriber(spec, start, forward, clientIdPrefix, () => clientsFor(spec.host)),
      );
      handoverWindows.push({
        handoverWindowMs: group.handoverWindowMs,
        handoverLeadMs: group.handoverLeadMs,
      });
    }
  }

  const expectations = expectedDeliveries(
    subscribers.map((subscriber) => subscriber.spec),
    planned.map((publisher) => publisher.schedule),
  );

  const brokersToStart = [...new Set(scenario.brokers.map(physical))];
  // [design] The Mosquitto baseline runs on its own topology kind behind the same network.
  const kind =
    variant.system === 'mosquitto-bridge' ? mosquittoBridgesTopology() : options.topology;
  const topology = await kind.start({
    brokers: brokersToStart,
    clientHosts: [...new Set(groupsOf(scenario).flatMap((group) => group.host ?? []))],
    ...(scenario.network === undefined ? {} : { network: scenario.network }),
    random: seededRandom(seed),
  });
  options.onTopologyStarted?.(topology);
  clientsFor = (host) =>
    (host === undefined ? undefined : topology.clients?.(host)) ?? localClients;
  for (const host of new Set(groupsOf(scenario).flatMap((group) => group.host ?? []))) {
    const clock = topology.clients?.(host)?.clock;
    if (clock !== undefined) {
      notes.push(
        `clients of ${host} ran on a client host of their own; its clock was ` +
          `${clock.offsetMs.toFixed(3)} ms off the harness's (read over a ` +
          `${clock.roundTripMs.toFixed(3)} ms round trip) and corrected`,
      );
    }
  }
  const faultDriver = new FaultDriver(faults, topology, durationMs / scenario.durationMs);
  const urlOf = (broker: string, host?: string) =>
    topology.endpoint(physical(broker), host).mqttUrl;
  const publisherClients: PublisherConnection[] = [];
  try {
    checkFaults(faults, topology);
    publisherClients.push(
      ...(await inBatches(planned, CONNECT_CONCURRENCY, (publisher) =>
        clientsFor(publisher.host).publisher(
          urlOf(publisher.broker, publisher.host),
          `${clientIdPrefix}${publisher.id}`,
          scenario.clientReconnectMs,
        ),
      )),
    );
    await inBatches(subscribers, CONNECT_CONCURRENCY, (subscriber) =>
      subscriber.connect(urlOf(subscriber.broker, subscriber.spec.host)),
    );

    // Priming: probes until every expected (subscriber, publisher) pair has seen one.
    report('priming', 0);
    const probed = new Set<string>();
    sink = (subscriber, message) => {
      if (message.runId === runId && message.probe) {
        probed.add(`${subscriber}:${message.publisher}`);
      }
    };
    const primeDeadline = performance.now() + (options.primeTimeoutMs ?? 10_000);
    const missing = () =>
      expectations.filter((e) => !probed.has(`${e.subscriber}:${e.publisher}`)).length;
    while (missing() > 0 && performance.now() < primeDeadline) {
      for (const [index, publisher] of planned.entries()) {
        const bytes = encodeMessage(
          { runId, publisher: index, seq: 0, probe: true, scheduledMs: nowMs() },
          publisher.schedule.payloadBytes,
        );
        publisherClients[index]!.probe(publisher.schedule.topics, bytes);
      }
      await sleep(PRIME_INTERVAL_MS);
    }
    const unprimed = missing();
    if (unprimed > 0) {
      notes.push(`${unprimed} of ${expectations.length} routes were not primed in time`);
    }

    const scheduleStartMs = nowMs() + SCHEDULE_LEAD_MS;
    const startOf = (index: number) =>
      scheduleStartMs + phaseOffsetMs(index, planned[index]!.schedule.rate);
    const recordedPublishers: RecordedPublisher[] = planned.map((publisher, index) => ({
      broker: physical(publisher.broker),
      startMs: startOf(index),
      rate: publisher.schedule.rate,
      count: publisher.schedule.count,
      topicCount: publisher.schedule.topics.length,
    }));
    const recorder = new DeliveryRecorder({
      runId,
      publishers: recordedPublishers,
      subscribers: subscribers.map((subscriber, index) => ({
        // Paths are physical: in the baseline every client shares one broker.
        brokerAt: (timeMs: number) => physical(subscriber.brokerAt(timeMs)),
        moves: subscriber.moves,
        ...handoverWindows[index]!,
      })),
      expectations,
      scheduleStartMs,
      warmupEndMs: scheduleStartMs + warmupMs,
    });
    sink = recorder.record;

    const driver = new MobilityDriver(
      [...mobileOf.entries()].map(([index, mobile]) => ({
        ...mobile,
        subscriber: subscribers[index]!,
      })),
      scheduleStartMs,
      urlOf,
    );
    const ticker = setInterval(() => report(current, recorder.recorded), 1_000);
    try {
      report('running', 0);
      const running = planned.map((publisher, index) =>
        publisherClients[index]!.run({ ...publisher.schedule, runId, startMs: startOf(index) }),
      );
      await sleep(Math.max(0, scheduleStartMs - nowMs()));
      driver.start();
      faultDriver.start(scheduleStartMs);
      await Promise.all(running);
      driver.stop();
      await faultDriver.stop();
      report('draining', recorder.recorded);
      await sleep(scenario.drainMs);
      await Promise.all(subscribers.map((subscriber) => subscriber.settle()));
    } finally {
      clearInterval(ticker);
      driver.stop();
      await faultDriver.stop();
    }
    for (const error of driver.errors.slice(0, 5)) notes.push(`a move failed: ${error.message}`);
    if (recorder.strays > 0) notes.push(`${recorder.strays} messages reached an unexpected client`);
    recorder.finish();

    const pathSummary = (path: PathName) => recorder.summary({ path });
    const whole = recorder.summary();
    const result: Variant = {
      name: variant.name,
      system: variant.system,
      latencyMs: whole.latencyMs,
      sent: whole.sent,
      received: whole.received,
      lost: whole.lost,
      duplicates: whole.duplicates,
      reordered: whole.reordered,
      histogram: whole.histogram,
      byPath: {
        'same-broker': pathSummary('same-broker'),
        'cross-broker': pathSummary('cross-broker'),
      },
      byPhase: {
        steady: recorder.summary({ phase: 'steady' }),
        handover: recorder.summary({ phase: 'handover' }),
      },
      timeline: recorder.timeline(),
      handovers: subscribers.flatMap((subscriber) =>
        subscriber.moves.map((move) => ({
          tMs: Math.max(0, Math.round(move.disconnectMs - scheduleStartMs)),
          client: move.client,
          from: move.from,
          to: move.to,
          ...(move.firstMessageMs === undefined
            ? {}
            : { gapMs: Math.round((move.firstMessageMs - move.disconnectMs) * 1000) / 1000 }),
        })),
      ),
      ...(faults.length === 0
        ? {}
        : faultResults(faultDriver.applied, recorder, {
            publisherBroker: (index) => physical(planned[index]!.broker),
            subscriberBrokerAt: (index, timeMs) => physical(subscribers[index]!.brokerAt(timeMs)),
            scheduleStartMs,
            endMs: scheduleStartMs + durationMs,
          })),
      ...(notes.length > 0 ? { notes } : {}),
    };
    return { result, recorder };
  } finally {
    await Promise.allSettled([
      ...subscribers.map((subscriber) => subscriber.close()),
      ...publisherClients.map((client) => client.end()),
    ]);
    options.onTopologyClosing?.();
    await topology.close();
  }
}
