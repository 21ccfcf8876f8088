// `npm run bench:topic-space`: what a broker's topic space (system/broker/topic-space.ts) holds
// and spends when its clients publish on a new topic with every message, with topics merged past
// `maxTrackedTopics` and, as the baseline in the same run, with every topic remembered on its own
// (what the broker did before the bound).
import { Command } from 'commander';
import { TopicSpace } from '../system/broker/index.ts';
import { exposedGc } from './exposed-gc.ts';
import { positiveInt } from './flag-parsers.ts';
import { spread, spreadText } from './mosquitto-targets.ts';

const flags = new Command('topic-space-bench')
  .description(
    'Publish on N distinct topics into a topic space, with and without the bound on topics ' +
      'remembered one by one; report the heap it holds and the time per publish.',
  )
  .option('--topics <n>', 'distinct topics published, one publish each', positiveInt, 500_000)
  .option('--prefixes <n>', 'first-level-below-root groups they fall into', positiveInt, 97)
  .option('--repetitions <n>', 'runs of each variant, alternating', positiveInt, 3)
  .parse()
  .opts<{ topics: number; prefixes: number; repetitions: number }>();

const gc = exposedGc('bench:topic-space');

interface Figures {
  heldMiB: number;
  usPerPublish: number;
  remembered: number;
  advertised: number;
}

/** One flood into a fresh topic space; `maxTrackedTopics` undefined keeps the default bound. */
function flood(maxTrackedTopics: number | undefined): Figures {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const space = new TopicSpace(maxTrackedTopics === undefined ? {} : { maxTrackedTopics });
  const started = process.hrtime.bigint();
  for (let i = 0; i < flags.topics; i++) {
    // A fleet of devices, each publishing once on its own topic: the worst case for memory.
    space.observe(`fleet/${i % flags.prefixes}/device-${i}/temperature`, i);
  }
  const elapsedNs = Number(process.hrtime.bigint() - started);
  space.takeDelta();
  gc();
  gc();
  const held = process.memoryUsage().heapUsed - before;
  return {
    heldMiB: held / 2 ** 20,
    usPerPublish: elapsedNs / 1000 / flags.topics,
    remembered: space.size,
    advertised: space.advertised().length,
  };
}

const variants = {
  bounded: undefined,
  // The baseline: a bound above the flood, so every topic is remembered on its own.
  unbounded: flags.topics + 1,
} as const;
const runs: Record<keyof typeof variants, Figures[]> = { bounded: [], unbounded: [] };
for (let r = 0; r < flags.repetitions; r++) {
  for (const [name, bound] of Object.entries(variants)) {
    runs[name as keyof typeof variants].push(flood(bound));
    process.stderr.write(`repetition ${r + 1}/${flags.repetitions}, ${name}: done\n`);
  }
}

const line = (name: keyof typeof variants) => {
  const of = (pick: (f: Figures) => number) => spread(runs[name].map(pick));
  return (
    `${name.padEnd(9)}  heap held ${spreadText(
      of((f) => f.heldMiB),
      (v) => `${v.toFixed(1)} MiB`,
    )}` +
    `  time ${spreadText(
      of((f) => f.usPerPublish),
      (v) => `${v.toFixed(2)} µs`,
    )} a publish` +
    `  remembered ${spreadText(
      of((f) => f.remembered),
      String,
    )}` +
    `  advertised ${spreadText(
      of((f) => f.advertised),
      String,
    )}\n`
  );
};
process.stdout.write(
  `${flags.topics} distinct topics under ${flags.prefixes} prefixes, ` +
    `${flags.repetitions} repetition${flags.repetitions === 1 ? '' : 's'}, median [min–max]\n` +
    `${line('bounded')}${line('unbounded')}`,
);
