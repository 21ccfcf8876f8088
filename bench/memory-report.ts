import { machineLine } from '../harness/environment.ts';
import type { Results } from '../harness/results/index.ts';
import { ratioTo, type Spread, spreadOf, type Verdict, verdict } from './memory-figures.ts';
import type { IdleRun, IdleSystem, LinkEnd, LinksRun, TopicsRun } from './memory-phases.ts';

/** The results file of `bench:memory`. */
/** v2: `parameters.warmLinks`, links a hub opened and dropped before its first link reading. */
export const MEMORY_BENCH_SCHEMA = 'mqfed-bench-memory/2';

/**
 * The targets. [design] An idle client is held to an absolute bound, not to 2 × Mosquitto's: a
 * Mosquitto client is a C struct and a socket (under 1 KiB), while any Node server pays a few
 * KiB for a socket handle and its stream before it parses a byte. 16 KiB keeps 10,000 idle clients
 * under 160 MiB. A link is held to 2 × a Mosquitto bridge, both ends counted, which a Node link
 * can hardly meet: a warm bridge costs Mosquitto 2–16 KiB both ends (it moves between runs), and
 * bare `ws` connections between two Node processes, the floor under a link (reported beside it),
 * already 10–16. So it is also held to an absolute bound, as an idle client is: 32 KiB at each
 * end keeps 1,000 peers under 32 MiB, a third of what an idle broker service holds anyway.
 * Topics at discovery: an absolute bound (no Mosquitto equivalent), 50,000 topics under 25 MiB.
 */
export const TARGETS = {
  idleClientKiB: 16,
  idleTimesAedes: 1.25,
  linkTimesMosquitto: 2,
  linkEndKiB: 32,
  per1000TopicsKiB: 512,
} as const;

export interface MemorySummary {
  /** KiB a client, connected only and subscribed to one topic each. */
  idle: Record<'connected' | 'subscribed', Record<IdleSystem, Spread | undefined>>;
  idleRatio: Record<'connected' | 'subscribed', number | undefined>;
  /**
   * KiB one more link costs at the end that dials it, the end that accepts it, and both; and
   * what the first link costs beyond that at each end (code and state made once).
   */
  links: Record<
    LinkSystem,
    Record<'dialing' | 'accepting' | 'both' | 'firstDialing' | 'firstAccepting', Spread | undefined>
  >;
  linkRatio: number | undefined;
  /** mqfed's link, both ends, against bare ws connections under it (no target: a figure). */
  linkFloorRatio: number | undefined;
  per1000Topics: Spread | undefined;
  /** mqfed's JS heap after a forced collection: a client, a link at each end, 1,000 topics. */
  heap: {
    connected: Spread | undefined;
    subscribed: Spread | undefined;
    dialing: Spread | undefined;
    accepting: Spread | undefined;
    per1000Topics: Spread | undefined;
  };
  targets: {
    idleClient: Verdict;
    subscribedClient: Verdict;
    /** What mqfed adds to the aedes it embeds: connected clients against plain aedes. */
    idleOverAedes: Verdict;
    link: Verdict;
    /** Each end of a link, absolute: the larger of the two ends' figures. */
    linkEnd: Verdict;
    topics: Verdict;
  };
}

/** A link figure's system: mqfed, Mosquitto's bridge, or bare `ws` connections (the floor). */
export type LinkSystem = 'mqfed' | 'mosquitto' | 'ws';
export type SystemLinksRun = LinksRun & { system: LinkSystem };

export interface MemoryBenchResults {
  schema: typeof MEMORY_BENCH_SCHEMA;
  startedAt: string;
  finishedAt: string;
  gitCommit: string | null;
  gitDirty: boolean | null;
  environment: Results['environment'];
  parameters: {
    quick: boolean;
    clients: number;
    generators: number;
    keepaliveS: number;
    repetitions: number;
    settleS: number;
    reads: number;
    linkSteps: number[];
    warmLinks: number;
    topicSteps: number[];
  };
  runs: {
    idle: IdleRun[];
    links: SystemLinksRun[];
    topics: TopicsRun[];
  };
  summary: MemorySummary;
}

const sum = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a + b;
const largerEnd = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : Math.max(a, b);

/** Every figure over its repetitions, and the targets. */
export function summarize(runs: MemoryBenchResults['runs']): MemorySummary {
  const idleOf = (kind: 'connected' | 'subscribed', system: IdleSystem) =>
    spreadOf(
      runs.idle
        .filter((run) => run.system === system && (kind === 'subscribed') === run.topics > 0)
        .map((run) => run.perClientKiB),
    );
  const idle = {
    connected: {
      mqfed: idleOf('connected', 'mqfed'),
      aedes: idleOf('connected', 'aedes'),
      mosquitto: idleOf('connected', 'mosquitto'),
    },
    subscribed: {
      mqfed: idleOf('subscribed', 'mqfed'),
      aedes: idleOf('subscribed', 'aedes'),
      mosquitto: idleOf('subscribed', 'mosquitto'),
    },
  };
  const perLink = (system: LinkSystem, end: LinkEnd) =>
    runs.links.filter((run) => run.system === system && run.end === end);
  const linksOf = (system: LinkSystem) => {
    const dialing = perLink(system, 'dialing');
    const accepting = perLink(system, 'accepting');
    return {
      dialing: spreadOf(dialing.map((run) => run.perLinkKiB)),
      accepting: spreadOf(accepting.map((run) => run.perLinkKiB)),
      // Repetition by repetition: the two ends of the same repetition.
      both: spreadOf(dialing.map((run, i) => sum(run.perLinkKiB, accepting[i]?.perLinkKiB))),
      firstDialing: spreadOf(dialing.map((run) => run.firstLinkKiB)),
      firstAccepting: spreadOf(accepting.map((run) => run.firstLinkKiB)),
    };
  };
  const links = { mqfed: linksOf('mqfed'), mosquitto: linksOf('mosquitto'), ws: linksOf('ws') };
  const floorLink = links.ws.both?.median;
  const per1000Topics = spreadOf(runs.topics.map((run) => run.per1000TopicsKiB));
  const mosquittoLink = links.mosquitto.both?.median;
  const idleHeap = (subscribed: boolean) =>
    spreadOf(
      runs.idle
        .filter((run) => run.system === 'mqfed' && subscribed === run.topics > 0)
        .map((run) => run.heapPerClientKiB),
    );
  const heap = {
    connected: idleHeap(false),
    subscribed: idleHeap(true),
    dialing: spreadOf(perLink('mqfed', 'dialing').map((run) => run.heapPerLinkKiB)),
    accepting: spreadOf(perLink('mqfed', 'accepting').map((run) => run.heapPerLinkKiB)),
    per1000Topics: spreadOf(runs.topics.map((run) => run.heapPer1000TopicsKiB)),
  };
  return {
    heap,
    idle,
    idleRatio: {
      connected: ratioTo(idle.connected.mqfed?.median, idle.connected.mosquitto?.median),
      subscribed: ratioTo(idle.subscribed.mqfed?.median, idle.subscribed.mosquitto?.median),
    },
    links,
    linkRatio: ratioTo(links.mqfed.both?.median, mosquittoLink),
    linkFloorRatio: ratioTo(links.mqfed.both?.median, floorLink),
    per1000Topics,
    targets: {
      idleClient: verdict(
        `≤ ${TARGETS.idleClientKiB} KiB`,
        idle.connected.mqfed?.median,
        TARGETS.idleClientKiB,
      ),
      subscribedClient: verdict(
        `≤ ${TARGETS.idleClientKiB} KiB`,
        idle.subscribed.mqfed?.median,
        TARGETS.idleClientKiB,
      ),
      idleOverAedes: verdict(
        `≤ ${TARGETS.idleTimesAedes} × plain aedes`,
        idle.connected.mqfed?.median,
        idle.connected.aedes === undefined
          ? undefined
          : TARGETS.idleTimesAedes * idle.connected.aedes.median,
      ),
      link: verdict(
        `≤ ${TARGETS.linkTimesMosquitto} × Mosquitto bridge`,
        links.mqfed.both?.median,
        mosquittoLink === undefined ? undefined : TARGETS.linkTimesMosquitto * mosquittoLink,
      ),
      linkEnd: verdict(
        `≤ ${TARGETS.linkEndKiB} KiB each end`,
        largerEnd(links.mqfed.dialing?.median, links.mqfed.accepting?.median),
        TARGETS.linkEndKiB,
      ),
      topics: verdict(
        `≤ ${TARGETS.per1000TopicsKiB} KiB`,
        per1000Topics?.median,
        TARGETS.per1000TopicsKiB,
      ),
    },
  };
}

/** The human-readable report: the summary as a table, then each repetition's readings. */
export function formatMemoryReport(results: MemoryBenchResults, outPath: string): string {
  const { parameters: p, summary: s, environment: env } = results;
  const lines = [
    `mqfed memory benchmark${p.quick ? ' (QUICK RUN: a smoke check only)' : ''}`,
    `  resident set (VmRSS), median of ${p.reads} readings 1 s apart, ${p.settleS} s after each change; ` +
      `${p.repetitions} repetition(s)`,
    `  ${machineLine(env)}`,
    '',
    ...table(
      ['figure (KiB)', 'mqfed', 'spread', 'Mosquitto', 'spread', 'ratio', 'target', 'met'],
      [
        row(
          `idle client (${int(p.clients)}, keepalive ${p.keepaliveS} s)`,
          s.idle.connected.mqfed,
          s.idle.connected.mosquitto,
          s.idleRatio.connected,
          s.targets.idleClient,
        ),
        row(
          'idle client, 1 subscription',
          s.idle.subscribed.mqfed,
          s.idle.subscribed.mosquitto,
          s.idleRatio.subscribed,
          s.targets.subscribedClient,
        ),
        row(
          'peer link, dialing end',
          s.links.mqfed.dialing,
          s.links.mosquitto.dialing,
          ratioTo(s.links.mqfed.dialing?.median, s.links.mosquitto.dialing?.median),
          undefined,
        ),
        row(
          'peer link, accepting end',
          s.links.mqfed.accepting,
          s.links.mosquitto.accepting,
          ratioTo(s.links.mqfed.accepting?.median, s.links.mosquitto.accepting?.median),
          undefined,
        ),
        row(
          'first link, dialing end, once',
          s.links.mqfed.firstDialing,
          s.links.mosquitto.firstDialing,
          undefined,
          undefined,
        ),
        row(
          'first link, accepting end, once',
          s.links.mqfed.firstAccepting,
          s.links.mosquitto.firstAccepting,
          undefined,
          undefined,
        ),
        row(
          'peer link, both ends',
          s.links.mqfed.both,
          s.links.mosquitto.both,
          s.linkRatio,
          s.targets.link,
        ),
        row('peer link, the larger end', undefined, undefined, undefined, s.targets.linkEnd),
        row('1,000 topics at discovery', s.per1000Topics, undefined, undefined, s.targets.topics),
      ],
    ),
    '  resident set after a forced collection (mqfed); clients and links: what one more costs',
    '  (second half of the clients, slope from 1 link on); spread: (max − min) / median over the',
    '  repetitions; Mosquitto links: `connection` sections; no Mosquitto equivalent of discovery.',
    `  mqfed's hub opened and dropped ${results.parameters.warmLinks} links to other leaves before its first link reading.`,
    '',
    `  plain aedes on the same Node (the floor under mqfed's broker), KiB a client: ` +
      `${fixed(s.idle.connected.aedes?.median)} connected, ${fixed(s.idle.subscribed.aedes?.median)} subscribed; ` +
      `mqfed ${s.targets.idleOverAedes.target}: ${metText(s.targets.idleOverAedes)}`,
    `  bare ws connections on the same Node (the floor under a peer link), KiB a connection: ` +
      `${fixed(s.links.ws.dialing?.median)} dialing, ${fixed(s.links.ws.accepting?.median)} accepting, ` +
      `${fixed(s.links.ws.both?.median)} both ends; mqfed, both ends: ` +
      (s.linkFloorRatio === undefined ? '-' : `${s.linkFloorRatio.toFixed(1)} × that`),
    '  mqfed JS heap after a forced collection, KiB: ' +
      [
        ['a client', s.heap.connected],
        ['a subscribed client', s.heap.subscribed],
        ['a link dialing', s.heap.dialing],
        ['a link accepting', s.heap.accepting],
        ['1,000 topics', s.heap.per1000Topics],
      ]
        .map(([label, spread]) => `${label} ${fixed((spread as Spread | undefined)?.median)}`)
        .join(', '),
    '',
  ];
  for (const run of results.runs.idle) {
    lines.push(
      `  idle ${run.system} ${run.topics > 0 ? `subscribed (${run.topics} topics)` : 'connected'}: ` +
        `${int(run.beforeKiB)} → ${int(run.halfKiB)} → ${int(run.afterKiB)} KiB with 0, half and all ` +
        `${int(run.clients)} clients (${run.refused} refused); average ${fixed(run.averageKiB)} KiB a client`,
    );
  }
  for (const run of results.runs.links) {
    lines.push(
      `  ${run.system} ${run.end} end, by links: ` +
        `${run.points.map((pt) => `${pt.x}: ${int(pt.y)}`).join(', ')} KiB`,
    );
  }
  for (const run of results.runs.topics) {
    lines.push(
      `  discovery: empty ${int(run.emptyKiB)} KiB, ${run.brokers} leases ${int(run.leasesKiB)} KiB, ` +
        `by thousands of topics: ${run.points.map((pt) => `${pt.x}: ${int(pt.y)}`).join(', ')} KiB`,
    );
  }
  lines.push('', `results: ${outPath}`);
  return `${lines.join('\n')}\n`;
}

function row(
  label: string,
  mqfed: Spread | undefined,
  mosquitto: Spread | undefined,
  ratio: number | undefined,
  target: Verdict | undefined,
): string[] {
  return [
    label,
    fixed(mqfed?.median),
    percent(mqfed?.spread),
    fixed(mosquitto?.median),
    percent(mosquitto?.spread),
    ratio === undefined ? '-' : `${ratio.toFixed(1)} ×`,
    target?.target ?? '-',
    target === undefined ? '-' : metText(target),
  ];
}

const metText = (target: Verdict) =>
  target.met === undefined ? '-' : target.met ? 'met' : 'NOT met';

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((r) => r[i]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    `  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const fixed = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
const percent = (value: number | undefined) =>
  value === undefined ? '-' : `${Math.round(value * 100)} %`;
