import { topicMatches } from '../system/protocol/index.ts';
import { clientRandom, createMobility } from './mobility.ts';
import type { Expectation } from './recording/delivery-recorder.ts';
import {
  fillTemplate,
  type MobileGroup,
  type Scenario,
  type ScenarioVariant,
  type SubscriberGroup,
} from './scenario.ts';
import type { MobileClient } from './workload/mobility-driver.ts';
import type { PublisherSchedule } from './workload/open-loop-publisher.ts';
import type { SubscriberSpec } from './workload/simulated-subscriber.ts';

/** One publisher of a variant: where it connects and what it will send. */
export interface PlannedPublisher {
  id: string;
  broker: string;
  host: string | undefined;
  schedule: Omit<PublisherSchedule, 'startMs' | 'runId'>;
}

/** One subscriber of a variant: what it wants, where it starts, and how it moves, if it does. */
export interface PlannedSubscriber {
  spec: SubscriberSpec;
  broker: string;
  mobile?: Omit<MobileClient, 'subscriber'>;
  handover: { handoverWindowMs: number; handoverLeadMs: number };
}

/** Every client of one variant, and what each subscriber should receive. */
export interface VariantPlan {
  publishers: PlannedPublisher[];
  subscribers: PlannedSubscriber[];
  expectations: Expectation[];
  /** The hosts the scenario puts clients on. */
  clientHosts: string[];
}

/**
 * Expands a scenario's client groups for one variant into its clients: the variant's placement
 * and QoS applied, topic templates filled in, each mobile client's model and start, and the
 * deliveries each subscriber should get. Pure: nothing connects here.
 */
export function planVariant(
  scenario: Scenario,
  variant: ScenarioVariant,
  durationMs: number,
  seed: number,
): VariantPlan {
  const placementOf = (group: string, declared: string | readonly string[]) =>
    variant.placement[group] ?? declared;
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
  const subscribers: PlannedSubscriber[] = [];
  /**
   * Subscriber `i` of a group, fixed or mobile: its filters filled in, the variant's QoS.
   * [design] A fixed subscriber at QoS 1 keeps a persistent session, so what the broker queued
   * for it while it was away (its broker crashed, its connection dropped) reaches it when it is
   * back: at-least-once end to end. A mobile one keeps a clean session per connection, as a
   * phone changing cells does: MQTT 3.1.1 moves no session between brokers, and a session left
   * behind would keep pulling its data to the old broker, to hand it over stale on a return.
   * Unless its group (or the variant) asks for `persistent`: then it keeps one session that
   * the federation should move with it from broker to broker (issue 13), which is what the
   * handover figures measure.
   */
  const persistentMobile = (group: MobileGroup) => variant.persistent ?? group.persistent;
  const specOf = (group: SubscriberGroup | MobileGroup, i: number, fixed: boolean) => {
    const qos = variant.qos ?? group.qos;
    const spec: SubscriberSpec = {
      index: subscribers.length,
      id: `${group.name}-${i}`,
      filters: group.filters.map((filter) => fillTemplate(filter, group.name, i)),
      qos,
      ...(group.host === undefined ? {} : { host: group.host }),
      ...reconnect,
      ...((fixed && qos === 1) || (!fixed && persistentMobile(group as MobileGroup))
        ? { persistent: true }
        : {}),
    };
    return spec;
  };
  for (const group of scenario.clients.subscribers) {
    for (let i = 0; i < group.count; i++) {
      const spec = specOf(group, i, true);
      const broker = pick(placementOf(group.name, group.broker), i);
      subscribers.push({ spec, broker, handover: { handoverWindowMs: 0, handoverLeadMs: 0 } });
    }
  }
  for (const group of scenario.clients.mobile) {
    const brokers = placementOf(group.name, group.brokers);
    const brokerList = typeof brokers === 'string' ? [brokers] : brokers;
    const model = createMobility(group.mobility, seed);
    for (let i = 0; i < group.count; i++) {
      const spec = specOf(group, i, false);
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
      subscribers.push({
        spec,
        broker: start,
        mobile,
        handover: {
          handoverWindowMs: group.handoverWindowMs,
          handoverLeadMs: group.handoverLeadMs,
        },
      });
    }
  }

  const expectations = expectedDeliveries(
    subscribers.map((subscriber) => subscriber.spec),
    planned.map((publisher) => publisher.schedule),
  );
  const clientHosts = [...new Set(groupsOf(scenario).flatMap((group) => group.host ?? []))];
  return { publishers: planned, subscribers, expectations, clientHosts };
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

/** Every client group of a scenario. */
const groupsOf = (scenario: Scenario) => [
  ...scenario.clients.publishers,
  ...scenario.clients.subscribers,
  ...scenario.clients.mobile,
];

const pick = (value: string | readonly string[], index: number): string =>
  typeof value === 'string' ? value : value[index % value.length]!;
