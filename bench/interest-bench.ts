// `npm run bench:interest`: how long a new remote subscription takes to reach the publishing
// broker (the bound behind "no loss when a topic first appears"), and how long the first
// publish on a brand-new topic then takes to arrive. See docs/benchmarks.md.
// `npm run bench:interest -- --refresh`: the CPU cost of one peer-route refresh (which local
// filters a peer's advertised topics serve), the old scan against the index used now.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import mqtt from 'mqtt';
import { bar, Progress } from '../harness/progress.ts';
import { medianInterval, quantileOfSorted } from '../harness/results/index.ts';
import {
  indexPeerTopics,
  type LinkEvent,
  startLocalFederation,
  wantedFrom,
} from '../system/broker/index.ts';
import { filtersIntersect } from '../system/protocol/index.ts';
import { positiveInt } from './flag-parsers.ts';

type PeerInterest = Extract<LinkEvent, { type: 'peer-interest' }>;

const flags = new Command('bench:interest')
  .description(
    'Measure, on one machine, SUBACK → the publishing broker knows the interest (the propagation ' +
      'bound) and SUBACK → the first publish on a never-seen topic arrives, over fresh topics.',
  )
  .option('--trials <n>', 'subscriptions per round', positiveInt, 40)
  .option('--rounds <n>', 'rounds, each on a fresh federation', positiveInt, 3)
  .option('--refresh', 'measure only the CPU cost of a peer-route refresh, before and after')
  .option('--filters <n>', 'with --refresh: local filters', positiveInt, 4000)
  .option('--topics <n>', 'with --refresh: topics the peer advertises', positiveInt, 1000)
  .option('--repetitions <n>', 'with --refresh: timed refreshes of each kind', positiveInt, 7)
  .parse()
  .opts<{
    trials: number;
    rounds: number;
    refresh?: boolean;
    filters: number;
    topics: number;
    repetitions: number;
  }>();

/**
 * One refresh of one peer's routes at `filters` × `topics`: local filters mostly exact with a
 * fifth wildcards (`+` and `#`), peer topics mostly exact with a few filters, some of each in
 * common. "before" is the scan PeerLinks ran until now; "after" is what it runs now, the index
 * of the peer's topics included (a changed record is indexed again).
 */
function refreshFigures(filters: number, topics: number, repetitions: number): void {
  const local: string[] = [];
  for (let i = 0; i < filters; i += 1) {
    local.push(i % 10 === 0 ? `site/${i}/+/level` : i % 10 === 5 ? `site/${i}/#` : `site/${i}/t`);
  }
  const advertised: string[] = [];
  for (let j = 0; j < topics; j += 1) {
    advertised.push(j % 50 === 0 ? `site/+/x${j}` : `site/${j * 3}/t`);
  }
  const before = () =>
    local.filter((filter) => advertised.some((topic) => filtersIntersect(filter, topic)));
  // What PeerLinks runs now: index the peer's topics, then read each local filter against it.
  const after = () => wantedFrom(local, indexPeerTopics(advertised));
  const expected = before();
  const got = after();
  if (got.length !== expected.length || got.some((filter, i) => filter !== expected[i])) {
    throw new Error('the index and the scan disagree');
  }
  const time = (run: () => unknown) => {
    const samples: number[] = [];
    for (let r = 0; r < repetitions; r += 1) {
      const start = process.cpuUsage();
      run();
      const used = process.cpuUsage(start);
      samples.push((used.user + used.system) / 1000);
    }
    return samples;
  };
  const report = (name: string, samples: number[]) => {
    const interval = medianInterval(samples);
    const fmt = (n: number) => n.toFixed(2);
    process.stdout.write(
      `${name.padEnd(28)} median ${fmt(interval.estimate)} ms CPU ` +
        `(${fmt(interval.lo)}–${fmt(interval.hi)})  runs ${samples.map(fmt).join(' ')}\n`,
    );
  };
  process.stdout.write(
    `one refresh, ${filters} local filters × ${topics} peer topics, ${expected.length} wanted; ` +
      `${repetitions} runs each, median with its 95 % interval:\n`,
  );
  report('before (scan)', time(before));
  report('after (index of the topics)', time(after));
}

if (flags.refresh === true) {
  refreshFigures(flags.filters, flags.topics, flags.repetitions);
  process.exit(0);
}

interface Round {
  propagation: number[];
  firstDelivery: number[];
}

async function round(trials: number, tick: () => void): Promise<Round> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mqfed-interest-'));
  const federation = await startLocalFederation({
    dataDir,
    brokers: ['pub', 'sub'],
    logLevel: 'silent',
  });
  const publisherBroker = federation.broker('pub');
  const subscriberBroker = federation.broker('sub');
  const subscriber = await mqtt.connectAsync(subscriberBroker.mqttUrl, { reconnectPeriod: 0 });
  const publisher = await mqtt.connectAsync(publisherBroker.mqttUrl, { reconnectPeriod: 0 });
  const result: Round = { propagation: [], firstDelivery: [] };
  try {
    for (let trial = 0; trial < trials; trial += 1) {
      const filter = `fresh/${process.pid}/${Date.now()}/${trial}/#`;
      const topic = filter.replace('/#', '/x');
      const learned = new Promise<number>((resolve) => {
        const listener = (event: PeerInterest) => {
          if (event.peer !== 'sub' || !event.interest.includes(filter)) return;
          publisherBroker.events.off('peer-interest', listener);
          resolve(performance.now());
        };
        publisherBroker.events.on('peer-interest', listener);
      });
      const arrived = new Promise<number>((resolve) =>
        subscriber.once('message', () => resolve(performance.now())),
      );
      await subscriber.subscribeAsync(filter, { qos: 1 });
      const subacked = performance.now();
      const learnedAt = await learned;
      await publisher.publishAsync(topic, 'first', { qos: 1 });
      const arrivedAt = await arrived;
      result.propagation.push(learnedAt - subacked);
      result.firstDelivery.push(arrivedAt - subacked);
      await subscriber.unsubscribeAsync(filter);
      tick();
    }
  } finally {
    await subscriber.endAsync(true);
    await publisher.endAsync(true);
    await federation.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return result;
}

const progress = new Progress();
const total = flags.trials * flags.rounds;
let done = 0;
const rounds: Round[] = [];
for (let index = 0; index < flags.rounds; index += 1) {
  rounds.push(
    await round(flags.trials, () => {
      done += 1;
      progress.update(`${bar(done / total)} subscriptions ${done}/${total}`);
    }),
  );
  progress.log(`round ${index + 1} of ${flags.rounds} done`);
}
progress.clear();

const describe = (name: string, pick: (r: Round) => number[]) => {
  const perRound = rounds.map((r) => [...pick(r)].sort((a, b) => a - b));
  const p50s = perRound.map((sorted) => quantileOfSorted(sorted, 0.5));
  const p99s = perRound.map((sorted) => quantileOfSorted(sorted, 0.99));
  const all = perRound.flat().sort((a, b) => a - b);
  const p50 = medianInterval(p50s);
  const p99 = medianInterval(p99s);
  const fmt = (n: number) => n.toFixed(1);
  process.stdout.write(
    `${name.padEnd(40)} p50 ${fmt(p50.estimate)} ms (${fmt(p50.lo)}–${fmt(p50.hi)})  ` +
      `p99 ${fmt(p99.estimate)} ms (${fmt(p99.lo)}–${fmt(p99.hi)})  max ${fmt(all.at(-1)!)} ms\n`,
  );
};
process.stdout.write(
  `\n${flags.rounds} rounds × ${flags.trials} fresh subscriptions; median of the rounds' ` +
    'figures with its 95 % interval:\n',
);
describe('SUBACK → publishing broker knows', (r) => r.propagation);
describe('SUBACK → first publish on a new topic', (r) => r.firstDelivery);
process.stdout.write('stated bound: 200 ms\n');
