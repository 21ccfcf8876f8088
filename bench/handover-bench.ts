// `npm run bench:handover`: what a persistent session costs a client that moves to another
// broker, against one that reconnects to the same broker, in the same run: CONNECT → CONNACK
// (the move happens in between) and CONNACK → the first queued QoS 1 message (target: p99
// ≤ 200 ms). See docs/benchmarks.md.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import mqtt from 'mqtt';
import { bar, Progress } from '../harness/progress.ts';
import { medianInterval, quantileOfSorted } from '../harness/results/index.ts';
import { startLocalFederation } from '../system/broker/index.ts';
import { positiveInt } from './flag-parsers.ts';

const flags = new Command('bench:handover')
  .description(
    'Measure, on one machine, the reconnect of a persistent QoS 1 session with queued messages: ' +
      'to the same broker (baseline) and to another broker (a session move), interleaved.',
  )
  .option('--trials <n>', 'reconnects of each kind per round', positiveInt, 40)
  .option('--rounds <n>', 'rounds, each on a fresh federation', positiveInt, 3)
  .option('--queued <n>', 'QoS 1 messages queued for the client while it is away', positiveInt, 10)
  .parse()
  .opts<{ trials: number; rounds: number; queued: number }>();

type Kind = 'same' | 'move';
interface Sample {
  connack: number;
  firstMessage: number;
  allMessages: number;
}
type Round = Record<Kind, Sample[]>;

async function reconnect(url: string, clientId: string, queued: number): Promise<Sample> {
  const started = performance.now();
  const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 0 });
  let connackAt = 0;
  let firstAt = 0;
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    client.once('error', reject);
    client.once('connect', (connack) => {
      connackAt = performance.now();
      if (!connack.sessionPresent) reject(new Error(`${clientId}: no session present`));
    });
    client.on('message', () => {
      count += 1;
      if (count === 1) firstAt = performance.now();
      if (count === queued) resolve();
    });
  });
  const allAt = performance.now();
  await client.endAsync();
  return {
    connack: connackAt - started,
    firstMessage: firstAt - connackAt,
    allMessages: allAt - connackAt,
  };
}

async function round(trials: number, queued: number, tick: () => void): Promise<Round> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mqfed-handover-'));
  const federation = await startLocalFederation({
    dataDir,
    brokers: ['a', 'b'],
    logLevel: 'silent',
  });
  const [a, b] = [federation.broker('a'), federation.broker('b')];
  const publisher = await mqtt.connectAsync(a.mqttUrl, { reconnectPeriod: 0 });
  const result: Round = { same: [], move: [] };
  try {
    for (let trial = 0; trial < trials; trial += 1) {
      // Interleaved, and alternating which goes first, so drift of the machine hits both alike.
      const kinds: Kind[] = trial % 2 === 0 ? ['same', 'move'] : ['move', 'same'];
      for (const kind of kinds) {
        const clientId = `commuter-${process.pid}-${trial}-${kind}`;
        const first = await mqtt.connectAsync(a.mqttUrl, { clientId, clean: false });
        await first.subscribeAsync(`h/${clientId}/#`, { qos: 1 });
        await first.endAsync();
        for (let index = 0; index < queued; index += 1) {
          await publisher.publishAsync(`h/${clientId}/m`, `m-${index}`, { qos: 1 });
        }
        result[kind].push(await reconnect((kind === 'same' ? a : b).mqttUrl, clientId, queued));
        tick();
      }
    }
  } finally {
    await publisher.endAsync(true);
    await federation.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return result;
}

const progress = new Progress();
const total = flags.trials * flags.rounds * 2;
let done = 0;
const rounds: Round[] = [];
for (let index = 0; index < flags.rounds; index += 1) {
  rounds.push(
    await round(flags.trials, flags.queued, () => {
      done += 1;
      progress.update(`${bar(done / total)} reconnects ${done}/${total}`);
    }),
  );
  progress.log(`round ${index + 1} of ${flags.rounds} done`);
}
progress.clear();

const describe = (name: string, pick: (r: Round) => number[]) => {
  const perRound = rounds.map((r) => [...pick(r)].sort((x, y) => x - y));
  const p50 = medianInterval(perRound.map((sorted) => quantileOfSorted(sorted, 0.5)));
  const p99 = medianInterval(perRound.map((sorted) => quantileOfSorted(sorted, 0.99)));
  const max = Math.max(...perRound.map((sorted) => sorted.at(-1)!));
  const fmt = (n: number) => n.toFixed(1);
  process.stdout.write(
    `${name.padEnd(46)} p50 ${fmt(p50.estimate)} ms (${fmt(p50.lo)}–${fmt(p50.hi)})  ` +
      `p99 ${fmt(p99.estimate)} ms (${fmt(p99.lo)}–${fmt(p99.hi)})  max ${fmt(max)} ms\n`,
  );
};
process.stdout.write(
  `\n${flags.rounds} rounds × ${flags.trials} reconnects of each kind, ${flags.queued} QoS 1 ` +
    "messages queued; median of the rounds' figures with its 95 % interval:\n",
);
for (const kind of ['same', 'move'] as const) {
  const label = kind === 'same' ? 'same broker' : 'moved to b';
  describe(`${label}: CONNECT → CONNACK`, (r) => r[kind].map((s) => s.connack));
  describe(`${label}: CONNACK → first queued`, (r) => r[kind].map((s) => s.firstMessage));
  describe(`${label}: CONNACK → all ${flags.queued} queued`, (r) =>
    r[kind].map((s) => s.allMessages));
}
process.stdout.write('target: CONNACK → first queued, p99 ≤ 200 ms after a move\n');
