// `npm run bench:matching`: what one watch frame costs discovery's event loop, with the matching
// of issue 12 (a trie of the watch's filters, system/discovery/filter-matcher.ts) against the
// scan it replaced (every filter against every advertised entry). See docs/benchmarks.md.
import { Command } from 'commander';
import { createBrokerDirectory, createWatchView } from '../system/discovery/index.ts';
import { filtersIntersect } from '../system/protocol/index.ts';
import { positiveInt } from './flag-parsers.ts';

const flags = new Command('bench:matching')
  .description(
    'Time the snapshot of one watch against full brokers: the indexed matcher, and the old scan ' +
      'of filters × entries for comparison.',
  )
  .option('--brokers <n>', 'registered brokers', positiveInt, 10)
  .option(
    '--topics <n>',
    'advertised topics per broker (the default cap is 4096)',
    positiveInt,
    4096,
  )
  .option('--filters <n>', 'filters in the watch (the default cap is 1024)', positiveInt, 1024)
  .option('--repeats <n>', 'timed runs of the indexed matcher; the median is shown', positiveInt, 5)
  .parse()
  .opts<{ brokers: number; topics: number; filters: number; repeats: number }>();

/** The scan before issue 12, kept here only to be measured against. */
function scan(topics: Iterable<string>, filters: readonly string[]): string[] {
  const matched: string[] = [];
  for (const topic of topics) {
    if (filters.some((filter) => filtersIntersect(filter, topic))) matched.push(topic);
  }
  return matched.sort();
}

interface Case {
  name: string;
  /** Advertised entries of broker `b`. */
  topics: (b: number) => string[];
  filters: string[];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const { brokers, topics, filters, repeats } = flags;

const cases: Case[] = [
  {
    // The review's case: a few kilobytes of filters that match nothing, so the scan tries every
    // filter on every topic.
    name: 'miss: s/+/k<i> filters, site/<b>/sensor/<i> topics',
    topics: (b) => range(topics).map((i) => `site/${b}/sensor/${i}`),
    filters: range(filters).map((i) => `s/+/k${i}`),
  },
  {
    name: 'hit: site/<b>/+/<i> filters, the same topics',
    topics: (b) => range(topics).map((i) => `site/${b}/sensor/${i}`),
    filters: range(filters).map((i) => `site/${i % brokers}/+/${i}`),
  },
  {
    // Built against the trie: every mix of 'x' and '+' over ten levels, and topics of eleven
    // levels, so that every filter's prefix is alive until the last level, and none matches.
    name: 'adversarial: 2^10 mixes of x and + over 10 levels, x/…/x/y<i> topics of 11 levels',
    topics: (b) => range(topics).map((i) => `${'x/'.repeat(10)}y${b}-${i}`),
    filters: range(Math.min(filters, 1024)).map((mask) =>
      range(10)
        .map((level) => ((mask >> level) & 1 ? '+' : 'x'))
        .join('/'),
    ),
  },
  {
    name: 'wildcard entries: +/…/+/e<i> advertised filters of 11 levels, the same watch filters',
    topics: (b) => range(topics).map((i) => `${'+/'.repeat(10)}e${b}-${i}`),
    filters: range(Math.min(filters, 1024)).map((mask) =>
      range(10)
        .map((level) => ((mask >> level) & 1 ? '+' : 'x'))
        .join('/'),
    ),
  },
];

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

function timed(run: () => number, runs = repeats): { ms: number; matched: number } {
  const times: number[] = [];
  let matched = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    matched = run();
    times.push(performance.now() - start);
  }
  return { ms: median(times), matched };
}

console.log(
  `${brokers} brokers × ${topics} topics, watches of up to ${filters} filters; indexed: median ` +
    `of ${repeats} snapshots, old scan: one run`,
);
for (const c of cases) {
  const directory = createBrokerDirectory({
    clock: { now: () => Date.now() },
    maxTopicsPerBroker: topics,
    onChange: () => {},
  });
  for (const b of range(brokers)) {
    directory.register({ id: `b${b}`, linkUrl: `ws://b${b}`, ttlMs: 600_000, topics: c.topics(b) });
  }
  const listed = directory.list();
  const frameBytes = JSON.stringify({ type: 'watch', id: 'w', filters: c.filters }).length;
  const indexed = timed(() => {
    const view = createWatchView('w', { filters: c.filters, interestFilters: [] }, listed);
    const snapshot = view.snapshot();
    return snapshot.type === 'snapshot'
      ? snapshot.brokers.reduce((sum, broker) => sum + broker.topics.length, 0)
      : 0;
  });
  // The old scan takes seconds: it runs once.
  const old = timed(
    () => listed.reduce((sum, broker) => sum + scan(broker.topics, c.filters).length, 0),
    1,
  );
  if (old.matched !== indexed.matched) {
    throw new Error(`${c.name}: the scan matched ${old.matched}, the matcher ${indexed.matched}`);
  }
  console.log(
    `${c.name}\n  watch frame ${(frameBytes / 1024).toFixed(1)} KiB, ${indexed.matched} matched: ` +
      `indexed ${indexed.ms.toFixed(1)} ms, old scan ${old.ms.toFixed(0)} ms ` +
      `(${(old.ms / indexed.ms).toFixed(0)}× faster)`,
  );
  directory.close();
}
