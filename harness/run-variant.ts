import type { Histogram } from 'hdr-histogram-js';
import { seededRandom } from '../system/common/index.ts';
import { mosquittoBridgesTopology } from './baselines/mosquitto-topology.ts';
import { checkFaults, FaultDriver, LINK_FAULTS } from './fault-driver.ts';
import { CostMeter } from './recording/cost-meter.ts';
import { accountDeliveries, owedByLedgers } from './recording/delivery-accounting.ts';
import {
  DeliveryRecorder,
  type PathName,
  type RecordedPublisher,
} from './recording/delivery-recorder.ts';
import { type AppliedFault, type FaultImpactInput, outagesOf } from './recording/fault-impact.ts';
import { accountHandovers } from './recording/handover-accounting.ts';
import { mergeHistograms } from './recording/histogram.ts';
import type { Cost, Repetition, Variant } from './results/index.ts';
import type { Scenario, ScenarioVariant } from './scenario.ts';
import {
  type ClientHostClock,
  type ClockReading,
  clientHostClock,
  clockNote,
} from './seams/clock-exchange.ts';
import type { StartedTopology, Topology } from './topology/topology.ts';
import { phaseOffsetMs, planVariant } from './variant-plan.ts';
import {
  type ClientFactory,
  localClients,
  type PublisherConnection,
} from './workload/client-connection.ts';
import { checkDescriptorBudget } from './workload/descriptor-budget.ts';
import { MobilityDriver } from './workload/mobility-driver.ts';
import { inBatches, withRetries } from './workload/mqtt-connect.ts';
import { encodeMessage, nowMs } from './workload/payload.ts';
import type { PublishLedgerReport } from './workload/publish-ledger.ts';
import { primeTimeoutMs, RoutePrimer } from './workload/route-priming.ts';
import { type ArrivalSink, SimulatedSubscriber } from './workload/simulated-subscriber.ts';

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
  /**
   * Told when the variant's topology is up, before any client connects (resource sampling, CPU
   * pinning), and just before it closes; both are awaited.
   */
  onTopologyStarted?: (topology: StartedTopology) => void | Promise<void>;
  onTopologyClosing?: () => void | Promise<void>;
}

/** What one repetition of a variant measured, before repetitions are merged (repetitions.ts). */
export type SingleRun = Omit<Variant, 'repetitions' | 'intervals' | 'publisherLagMs' | 'cost'> &
  Pick<Repetition, 'clocks'>;

export interface VariantRun {
  result: SingleRun;
  recorder: DeliveryRecorder;
  /** Lateness of every publisher against its schedule, in µs (the harness's own error). */
  lag: Histogram | null;
  cost: Cost;
  /** When the measured schedule began (wall clock). */
  startedAt: Date;
}

/**
 * How many clients connect at once (per client host): enough to be quick, few enough not to
 * storm a broker.
 */
const CONNECT_CONCURRENCY = 32;
/** Lead time between arming the schedule and its first message, so every timer is set in time. */
const SCHEDULE_LEAD_MS = 200;

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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Each client host's clock over the run: read again at its end, before the hosts are released,
 * against the reading it was corrected by at the start. [design] The delays are not corrected
 * for the drift found: arrivals are folded into histograms as they come, and a publisher's
 * schedule on a host runs on the clock set at the start, so a linear correction would need every
 * delivery kept until the end and the rate of a clock that NTP slews unevenly; the run states the
 * drift and flags one beyond the readings' bounds instead (docs/results.md).
 */
async function clientHostClocks(
  started: readonly { host: string; reading: ClockReading }[],
  factoryOf: (host: string) => ClientFactory | undefined,
): Promise<ClientHostClock[]> {
  return Promise.all(
    started.map(async ({ host, reading }) => {
      const end = await factoryOf(host)
        ?.remeasureClock?.()
        .catch(() => null);
      return clientHostClock(host, reading, end ?? null);
    }),
  );
}

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
  const runId = (Math.random() * 2 ** 32) >>> 0;
  const clientIdPrefix = `h${runId.toString(36)}-`;

  // [design] The single-broker baseline has one broker: a fault on one of the scenario's would
  // take every client down, which is not the experiment; it runs without them and says so.
  const faults = variant.system === 'single-broker' ? [] : scenario.faults;
  if (faults.length < scenario.faults.length) notes.push('faults skipped: one broker only');

  const plan = planVariant(scenario, variant, durationMs, seed);
  const planned = plan.publishers;
  let sink: ArrivalSink = () => {};
  // Where a host's clients run: a client container the topology started for it, else here. Set
  // once the topology is up; subscribers ask at each connect.
  let clientsFor = (_host: string | undefined): ClientFactory => localClients;
  const forward: ArrivalSink = (subscriber, message, arrivalMs, dup) =>
    sink(subscriber, message, arrivalMs, dup);
  const subscribers = plan.subscribers.map(
    ({ spec, broker }) =>
      new SimulatedSubscriber(spec, broker, forward, clientIdPrefix, () => clientsFor(spec.host)),
  );
  const { expectations } = plan;
  const brokersToStart = [...new Set(scenario.brokers.map(physical))];
  // [design] The Mosquitto baseline runs on its own topology kind behind the same network.
  const kind =
    variant.system === 'mosquitto-bridge' ? mosquittoBridgesTopology() : options.topology;
  const linkFaults = faults.some((fault) => LINK_FAULTS.has(fault.action));
  const tls = variant.system !== 'mosquitto-bridge' && (variant.tls ?? scenario.tls);
  const topology = await kind.start({
    ...(tls ? { tls: true } : {}),
    brokers: brokersToStart,
    clientHosts: plan.clientHosts,
    ...(scenario.network === undefined ? {} : { network: scenario.network }),
    random: seededRandom(seed),
    ...(linkFaults ? { cuttableLinks: true } : {}),
  });
  if (linkFaults) {
    notes.push(
      'peer links ran through relays of the harness so that they could be cut: each ' +
        'cross-broker delivery crossed one more loopback TCP hop',
    );
  }
  clientsFor = (host) =>
    (host === undefined ? undefined : topology.clients?.(host)) ?? localClients;
  // A crowd too large for this process is refused before it connects (descriptor-budget.ts).
  const here = (host: string | undefined) => clientsFor(host) === localClients;
  const clientsHere =
    planned.filter((publisher) => here(publisher.host)).length +
    plan.subscribers.filter(({ spec }) => here(spec.host)).length;
  try {
    checkDescriptorBudget(clientsHere, topology.kind === 'in-process' ? 2 : 1);
  } catch (error) {
    await topology.close();
    throw error;
  }
  // [design] Each client host makes its own clients' connections: the connects in flight grow
  // with the hosts, as a crowd on several machines would connect.
  const remoteHosts = plan.clientHosts.filter((host) => !here(host)).length;
  const connectConcurrency = CONNECT_CONCURRENCY * Math.max(1, remoteHosts);
  // Client hosts' clocks as read when they connected, each corrected by its offset then; read
  // again at the end of the run for drift (clientHostClocks).
  const startClocks = plan.clientHosts.flatMap((host) => {
    const clock = topology.clients?.(host)?.clock;
    if (clock === undefined) return [];
    const reading: ClockReading = {
      offsetMs: clock.offsetMs,
      roundTripMs: clock.roundTripMs,
      errorBoundMs: clock.errorBoundMs ?? clock.roundTripMs / 2,
    };
    return [{ host, reading }];
  });
  let clocks: ClientHostClock[] = [];
  const faultDriver = new FaultDriver(faults, topology, durationMs / scenario.durationMs);
  const urlOf = (broker: string, host?: string) =>
    topology.endpoint(physical(broker), host).mqttUrl;
  const publisherClients: PublisherConnection[] = [];
  try {
    await options.onTopologyStarted?.(topology);
    checkFaults(faults, topology);
    publisherClients.push(
      ...(await inBatches(planned, connectConcurrency, (publisher) =>
        withRetries(() =>
          clientsFor(publisher.host).publisher(
            urlOf(publisher.broker, publisher.host),
            `${clientIdPrefix}${publisher.id}`,
            scenario.clientReconnectMs,
          ),
        ),
      )),
    );
    await inBatches(subscribers, connectConcurrency, (subscriber) =>
      subscriber.connect(urlOf(subscriber.broker, subscriber.spec.host)),
    );

    // Priming: probes until every expected (subscriber, publisher) pair has seen one.
    report('priming', 0);
    const primer = new RoutePrimer(expectations);
    sink = (subscriber, message) => {
      if (message.runId === runId && message.probe) primer.arrived(subscriber, message.publisher);
    };
    const unprimed = await primer.prime({
      timeoutMs: options.primeTimeoutMs ?? primeTimeoutMs(planned.length),
      probe: (index) => {
        const { schedule } = planned[index]!;
        const bytes = encodeMessage(
          { runId, publisher: index, seq: 0, probe: true, scheduledMs: nowMs() },
          schedule.payloadBytes,
        );
        publisherClients[index]!.probe(schedule.topics, bytes);
      },
    });
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
      qos: publisher.schedule.qos,
    }));
    const recorder = new DeliveryRecorder({
      runId,
      publishers: recordedPublishers,
      subscribers: subscribers.map((subscriber, index) => ({
        // Paths are physical: in the baseline every client shares one broker.
        brokerAt: (timeMs: number) => physical(subscriber.brokerAt(timeMs)),
        moves: subscriber.moves,
        ...plan.subscribers[index]!.handover,
        qos: subscriber.spec.qos,
        sessionAt: (timeMs: number) => subscriber.sessionAt(timeMs),
      })),
      expectations,
      scheduleStartMs,
      warmupEndMs: scheduleStartMs + warmupMs,
    });
    sink = recorder.record;

    const driver = new MobilityDriver(
      plan.subscribers.flatMap(({ mobile }, index) =>
        mobile === undefined ? [] : [{ ...mobile, subscriber: subscribers[index]! }],
      ),
      scheduleStartMs,
      urlOf,
    );
    const ticker = setInterval(() => report(current, recorder.recorded), 1_000);
    let lag: Histogram | null = null;
    let ledgers: PromiseSettledResult<PublishLedgerReport>[] = [];
    // What the measured window costs (CPU of every service and of the harness, link bytes),
    // from the end of the warm-up to the end of the drain: the messages it delivered are the
    // ones the recorder counts.
    const metering = sleep(Math.max(0, scheduleStartMs + warmupMs - nowMs())).then(() =>
      CostMeter.begin(topology),
    );
    const startedAt = new Date(Date.now() + (scheduleStartMs - nowMs()));
    try {
      report('running', 0);
      const running = planned.map((publisher, index) =>
        publisherClients[index]!.run({
          ...publisher.schedule,
          runId,
          startMs: startOf(index),
          // Lateness during the warm-up (a cold JIT, links settling) is not the run's.
          warmupEndMs: scheduleStartMs + warmupMs,
        }),
      );
      await sleep(Math.max(0, scheduleStartMs - nowMs()));
      driver.start();
      faultDriver.start(scheduleStartMs);
      const published = await Promise.all(running);
      lag = mergeHistograms(published.map((run) => run.lag));
      driver.stop();
      await faultDriver.stop();
      report('draining', recorder.recorded);
      await sleep(scenario.drainMs);
      await Promise.all(subscribers.map((subscriber) => subscriber.settle()));
      // After the drain: the PUBACKs of the last messages come after their schedule ended.
      ledgers = await Promise.allSettled(publisherClients.map((client) => client.ledger()));
      clocks = await clientHostClocks(startClocks, (host) => topology.clients?.(host));
    } catch (error) {
      // The meter must not outlive a failed run (it reads /proc on a timer).
      await metering.then((meter) => meter.end(0)).catch(() => {});
      throw error;
    } finally {
      clearInterval(ticker);
      driver.stop();
      await faultDriver.stop();
    }
    notes.push(...clocks.map(clockNote));
    for (const error of driver.errors.slice(0, 5)) notes.push(`a move failed: ${error.message}`);
    if (recorder.strays > 0) notes.push(`${recorder.strays} messages reached an unexpected client`);
    recorder.finish();
    const unread = ledgers.findIndex((ledger) => ledger.status === 'rejected');
    if (unread >= 0) {
      const reason = (ledgers[unread] as PromiseRejectedResult).reason as Error;
      notes.push(
        `no delivery accounting: publisher ${planned[unread]!.id} could not say what it sent ` +
          `(${reason.message})`,
      );
    }
    const readLedgers =
      unread >= 0
        ? undefined
        : ledgers.map((ledger) => (ledger as PromiseFulfilledResult<PublishLedgerReport>).value);
    const delivery =
      readLedgers === undefined ? undefined : accountDeliveries(recorder, readLedgers);
    // Without ledgers every message counts as owed: lost figures then include publishes the
    // broker never took (the note above says the accounting is missing).
    const handoverStats = accountHandovers(
      recorder,
      plan.subscribers.flatMap(({ mobile }, index) => {
        const subscriber = subscribers[index]!;
        return mobile === undefined
          ? []
          : [
              {
                subscriber: index,
                persistent: subscriber.spec.persistent === true,
                moves: subscriber.moves,
                sessionsLost: subscriber.sessionsLost,
              },
            ];
      }),
      readLedgers === undefined ? () => true : owedByLedgers(readLedgers),
    );

    const pathSummary = (path: PathName) => recorder.summary({ path });
    const whole = recorder.summary();
    const result: SingleRun = {
      name: variant.name,
      system: variant.system,
      ...(tls && topology.kind !== 'containers' ? { tls: true as const } : {}),
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
          ...(move.connackMs === undefined || move.connectSentMs === undefined
            ? {}
            : {
                transferMs: Math.max(
                  0,
                  Math.round((move.connackMs - move.connectSentMs) * 1000) / 1000,
                ),
              }),
          ...(move.sessionPresent === undefined ? {} : { sessionPresent: move.sessionPresent }),
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
      ...(delivery === undefined ? {} : { delivery }),
      ...(handoverStats === undefined ? {} : { handoverStats }),
      ...(clocks.length === 0 ? {} : { clocks }),
    };
    const cost: Cost = await (await metering).end(whole.received);
    return { result, recorder, lag, cost, startedAt };
  } finally {
    await Promise.allSettled([
      ...subscribers.map((subscriber) => subscriber.close()),
      ...publisherClients.map((client) => client.end()),
    ]);
    await options.onTopologyClosing?.();
    await topology.close();
  }
}
