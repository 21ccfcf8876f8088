// `npm run bench:interest`: how long a new remote subscription takes to reach the publishing
// broker (the bound behind "no loss when a topic first appears"), and how long the first
// publish on a brand-new topic then takes to arrive. See docs/benchmarks.md.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import mqtt from 'mqtt';
import { bar, Progress } from '../harness/progress.ts';
import { medianInterval, quantileOfSorted } from '../harness/results/index.ts';
import { type LinkEvent, startLocalFederation } from '../system/broker/index.ts';

type PeerInterest = Extract<LinkEvent, { type: 'peer-interest' }>;

function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new InvalidArgumentError('expected an integer > 0.');
  return number;
}

const flags = new Command('bench:interest')
  .description(
    'Measure, on one machine, SUBACK → the publishing broker knows the interest (the propagation ' +
      'bound) and SUBACK → the first publish on a never-seen topic arrives, over fresh topics.',
  )
  .option('--trials <n>', 'subscriptions per round', positiveInt, 40)
  .option('--rounds <n>', 'rounds, each on a fresh federation', positiveInt, 3)
  .parse()
  .opts<{ trials: number; rounds: number }>();

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
