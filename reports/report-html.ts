import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Comparison, Interval, Results, Variant } from '../harness/results/index.ts';
import { clockSection } from './clock-section.ts';
import { type CostChart, costChartData, costSection } from './cost-section.ts';
import { deliverySection } from './delivery-section.ts';
import { type FaultMarker, faultMarkers, faultSection } from './fault-section.ts';
import { floorSection } from './floor-section.ts';
import {
  escapeHtml,
  formatBytes,
  formatCount,
  formatInterval,
  formatMs,
  formatPercent,
  jsonForScript,
} from './format.ts';
import { type HandoverCurve, handoverChartData, handoverSection } from './handover-section.ts';
import { cdfCurve, decodeHistogram, type Point, percentileCurve } from './histogram-curves.ts';
import { hostLoadSection } from './host-load-section.ts';
import { parseResults } from './load-results.ts';
import { noiseBanner, noiseEntries } from './noise-section.ts';
import { overheadVerdict } from './overhead-verdict.ts';
import {
  type IntervalChart,
  type IntervalPoint,
  intervalChartData,
  intervalPoint,
  repeatabilityTable,
  repetitionDetails,
} from './repetitions-section.ts';
import { CHART_IDS, type ChartId, chartCard, type Run, seriesName } from './report-parts.ts';

export { CHART_IDS, type ChartId, type Run };

export interface RenderOptions {
  /** Names the runs when several are overlaid; default `run 1 (abc1234)` and so on. */
  labels?: readonly string[];
  /** Where each run came from (its file), shown in the page header and in errors. */
  sources?: readonly string[];
  /** The page title; default `mqfed report — <scenario>`. */
  title?: string;
}

/**
 * Where a series belongs, so the page can colour it: `run` picks a hue family when runs are
 * overlaid, `index` (the variant or service within its run) a shade in it.
 */
interface Owner {
  run: number;
  index: number;
}

interface Series extends Owner {
  label: string;
  points: Point[];
}

interface HandoverMarker {
  x: number;
  y: number;
  text: string;
}

/** What the page's script draws; every chart series is computed here, in Node. */
export interface ChartData {
  /** How many runs are overlaid: one run colours each series apart, several colour by run. */
  runs: number;
  overhead: {
    categories: string[];
    series: { label: string; run: number; values: (IntervalPoint | null)[] }[];
    /** The paper's figures (%), drawn as reference lines. */
    paper: { value: number; label: string }[];
  };
  intervals: IntervalChart;
  percentiles: Series[];
  cdf: Series[];
  delay: (Owner & {
    label: string;
    p50: Point[];
    p99: Point[];
    handovers: HandoverMarker[];
    faults: FaultMarker[];
  })[];
  throughput: (Owner & { label: string; sent: Point[]; received: Point[] })[];
  cost: CostChart;
  /** Transfer time and first-message gap of the mobile clients' moves, as CDFs. */
  handover: HandoverCurve[];
  cpu: Series[];
  memory: Series[];
}

const MIB = 1024 * 1024;

let chartJsCache: { source: string; version: string } | undefined;

/**
 * Chart.js's UMD build, read from node_modules at render time and inlined, so the report opens
 * offline. [design] Reading the installed package keeps its version the one package.json pins.
 */
export function chartJsSource(): { source: string; version: string } {
  if (chartJsCache === undefined) {
    const require = createRequire(import.meta.url);
    // chart.js exports neither its package.json nor its UMD build: find its folder from its entry.
    let packageDir = dirname(require.resolve('chart.js'));
    let manifest: { name?: string; version?: string } = {};
    for (;;) {
      const file = join(packageDir, 'package.json');
      if (existsSync(file)) {
        manifest = JSON.parse(readFileSync(file, 'utf8')) as typeof manifest;
        if (manifest.name === 'chart.js') break;
      }
      const parent = dirname(packageDir);
      if (parent === packageDir) throw new Error('cannot find the chart.js package folder');
      packageDir = parent;
    }
    const version = manifest.version ?? 'unknown';
    const source = readFileSync(join(packageDir, 'dist', 'chart.umd.min.js'), 'utf8');
    chartJsCache = { source: inlineScript(source), version };
  }
  return chartJsCache;
}

let clientCache: string | undefined;

/** The page's own script (reports/report-client.js): builds the charts from the embedded data. */
function clientSource(): string {
  clientCache ??= inlineScript(
    readFileSync(new URL('./report-client.js', import.meta.url), 'utf8'),
  );
  return clientCache;
}

/** A script's text can hold anything but `</script`; break that sequence should it appear. */
function inlineScript(source: string): string {
  return source.replaceAll(/<\/(script)/gi, '<\\/$1');
}

function runLabel(results: Results, index: number): string {
  const commit = results.gitCommit === null ? results.startedAt : results.gitCommit.slice(0, 7);
  return `run ${index + 1} (${commit})`;
}

/** The two overheads of each run that has a comparison, in %, with their intervals. */
function overheadChartData(runs: readonly Run[]): ChartData['overhead'] {
  const overlaid = runs.length > 1;
  const series: ChartData['overhead']['series'] = [];
  runs.forEach((run, r) => {
    const c = run.results.comparison;
    if (c === null) return;
    series.push({
      label: overlaid
        ? run.label
        : c.perRepetition.length > 1
          ? 'ours, median of runs'
          : 'ours (1 run, no interval)',
      run: r,
      values: [
        intervalPoint(
          oursInterval(c, 'p50'),
          c.perRepetition.map((p) => p.overheadP50),
          'percent',
        ),
        intervalPoint(
          oursInterval(c, 'p99'),
          c.perRepetition.map((p) => p.overheadP99),
          'percent',
        ),
      ],
    });
  });
  const paper = [
    ...new Set(
      runs.flatMap((run) =>
        run.results.paper.overhead === null ? [] : [run.results.paper.overhead],
      ),
    ),
  ].map((value) => ({ value: value * 100, label: `paper ${formatPercent(value)}` }));
  return { categories: ['p50', 'p99'], series, paper };
}

/**
 * An overhead with its interval. [design] The figure is the comparison's own (the one the
 * terminal prints); the interval around it comes from the repetitions.
 */
function oursInterval(c: Comparison, at: 'p50' | 'p99') {
  return at === 'p50'
    ? { ...c.intervals.overheadP50, estimate: c.overheadP50 }
    : { ...c.intervals.overheadP99, estimate: c.overheadP99 };
}

export function buildChartData(runs: readonly Run[]): ChartData {
  const overlaid = runs.length > 1;
  const data: ChartData = {
    runs: runs.length,
    overhead: overheadChartData(runs),
    intervals: intervalChartData(runs),
    percentiles: [],
    cdf: [],
    delay: [],
    throughput: [],
    cost: costChartData(runs),
    handover: handoverChartData(runs),
    cpu: [],
    memory: [],
  };
  runs.forEach((run, r) => {
    run.results.variants.forEach((variant, index) => {
      const label = seriesName(run, variant.name, overlaid);
      const owner = { run: r, index };
      // An empty string is a variant that recorded nothing: it keeps its place in the legend.
      const histogram =
        variant.histogram === ''
          ? undefined
          : decodeHistogram(variant.histogram, `variant ${variant.name}`);
      data.percentiles.push({
        label,
        ...owner,
        points: histogram ? percentileCurve(histogram) : [],
      });
      data.cdf.push({ label, ...owner, points: histogram ? cdfCurve(histogram) : [] });
      data.delay.push({
        label,
        ...owner,
        p50: variant.timeline.flatMap((t) => (t.p50Ms === undefined ? [] : [pt(t.tMs, t.p50Ms)])),
        p99: variant.timeline.flatMap((t) => (t.p99Ms === undefined ? [] : [pt(t.tMs, t.p99Ms)])),
        handovers: variant.handovers.map((h) => ({
          x: h.tMs / 1000,
          y: 0,
          text: `${h.client}: ${h.from} → ${h.to}${h.gapMs === undefined ? ', no message after' : `, gap ${formatMs(h.gapMs)} ms`}`,
        })),
        faults: faultMarkers(variant.faults),
      });
      data.throughput.push({
        label,
        ...owner,
        sent: variant.timeline.map((t) => pt(t.tMs, t.sent)),
        received: variant.timeline.map((t) => pt(t.tMs, t.received)),
      });
    });
    run.results.services.forEach((service, index) => {
      const label = seriesName(run, service.name, overlaid);
      const owner = { run: r, index };
      data.cpu.push({
        label,
        ...owner,
        points: service.samples.map((s) => pt(s.tMs, s.cpuPercent)),
      });
      data.memory.push({
        label,
        ...owner,
        points: service.samples.map((s) => pt(s.tMs, s.rssBytes / MIB)),
      });
    });
  });
  return data;
}

/** A timeline point: x in seconds since the start of the run. */
function pt(tMs: number, y: number): Point {
  return { x: tMs / 1000, y };
}

/** How many datasets each chart draws, for tests and for the page's own sanity. */
export function expectedDatasets(data: ChartData): Record<ChartId, number> {
  return {
    'chart-overhead': data.overhead.series.length,
    'chart-intervals': data.intervals.series.length,
    'chart-percentiles': data.percentiles.length,
    'chart-cdf': data.cdf.length,
    'chart-delay': data.delay.reduce(
      (n, d) =>
        n +
        (d.p50.length > 0 ? 1 : 0) +
        (d.p99.length > 0 ? 1 : 0) +
        (d.handovers.length > 0 ? 1 : 0) +
        (d.faults.length > 0 ? 1 : 0),
      0,
    ),
    'chart-throughput': data.throughput.length * 2,
    'chart-cost': data.cost.series.length,
    'chart-handover': data.handover.length,
    'chart-cpu': data.cpu.length,
    'chart-memory': data.memory.length,
  };
}

/**
 * Renders one or more runs of a scenario as one self-contained HTML page: Chart.js and the data
 * are inlined, nothing is fetched. Every string from the results is escaped. The input is
 * validated again here, so a hand-made object is refused the same way a broken file is.
 */
export function renderReportHtml(
  input: Results | readonly Results[],
  options: RenderOptions = {},
): string {
  const list: readonly unknown[] = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new TypeError('renderReportHtml needs at least one run');
  const runs: Run[] = list.map((value, index) => {
    const source = options.sources?.[index];
    const results = parseResults(value, source ?? options.labels?.[index] ?? `run ${index + 1}`);
    return {
      results,
      label: options.labels?.[index] ?? runLabel(results, index),
      ...(source === undefined ? {} : { source }),
    };
  });
  const overlaid = runs.length > 1;
  const first = runs[0]!.results;
  const scenarios = [...new Set(runs.map((r) => r.results.scenario))];
  const title = options.title ?? `mqfed report — ${scenarios.join(', ')}`;
  const data = buildChartData(runs);
  const counts = expectedDatasets(data);
  const chartJs = chartJsSource();
  const hasFaults = data.delay.some((d) => d.faults.length > 0);
  const named = runs.flatMap((run) =>
    run.results.variants.map((variant) => ({
      name: seriesName(run, variant.name, overlaid),
      variant,
    })),
  );
  const repetitions = Math.max(...runs.map((run) => run.results.repetitions));
  const fewPoints = data.delay.some((d) => d.p50.length > 0 && d.p50.length < 10);
  const chart = (id: ChartId, heading: string, caption: string, empty: string) =>
    chartCard(id, heading, caption, empty, counts[id]);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mqfed reports">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(title)}</h1>
  ${runs
    .map(
      ({ results, label, source }) =>
        `<p class="run-line">${overlaid ? `<strong>${escapeHtml(label)}</strong> · ` : ''}${
          source === undefined ? '' : `<code>${escapeHtml(source)}</code> · `
        }${
          results.description ? `${escapeHtml(results.description)} · ` : ''
        }started ${escapeHtml(results.startedAt)} · ${escapeHtml(formatMs(results.durationMs / 1000))} s · ${escapeHtml(
          plural(results.repetitions, 'repetition'),
        )} · seed ${escapeHtml(results.seed)} · commit <code>${escapeHtml(results.gitCommit ?? 'none')}</code> · ${escapeHtml(results.environment.topology)}</p>`,
    )
    .join('\n  ')}
  ${noiseBanner(runs)}
</header>
<noscript><p class="empty">The charts need JavaScript; the tables below do not.</p></noscript>
<main>
<section id="overhead-section">
  <h2>Federation overhead: ours against the paper's</h2>
  <p class="compared">Compared: <strong>cross-broker vs same-broker</strong> delay, at p50 and at p99, over the steady deliveries of the compared variants${
    repetitions > 1 ? '; each figure is the median over the repetitions with its 95 % interval' : ''
  }.</p>
  ${overheadTable(runs, overlaid)}
  ${[...new Set(runs.map(({ results }) => paperNote(results.paper.note)))]
    .map((note) => `<p class="note paper-note">${escapeHtml(note)}</p>`)
    .join('\n  ')}
  ${overheadPaths(runs, overlaid)}
  <div class="grid single">${chart(
    'chart-overhead',
    'Overhead, cross-broker vs same-broker',
    `Overhead (%) at p50 and p99; bars are medians over the repetitions, whiskers their 95 % intervals, dots each repetition${
      data.overhead.paper.length > 0 ? ", the dashed line the paper's figure" : ''
    }. A bar without a whisker rests on one run: no interval.`,
    'No run here has a same-broker / cross-broker pair.',
  )}</div>
</section>
<section>
  <h2>Delay and counts per variant</h2>
  ${figuresTable(runs, overlaid)}
  <p class="note">Merged over every repetition's deliveries${repetitions > 1 ? '; the medians over repetitions, with intervals, follow' : ''}.</p>
  <h3>Over the repetitions, and publisher lag</h3>
  ${repeatabilityTable(runs)}
  <div class="grid single">${chart(
    'chart-intervals',
    'p50 and p99 per variant, with 95 % intervals',
    'Delay (ms): bars are medians over the repetitions, whiskers their 95 % intervals, dots each repetition. A bar without a whisker rests on one run: no interval.',
    'No variant recorded a delay.',
  )}</div>
  ${repetitionDetails(runs)}
  ${handoverTable(runs, overlaid)}
</section>
${deliverySection(runs)}
${handoverSection(runs, counts['chart-handover'])}
${floorSection(runs)}
${costSection(runs, counts['chart-cost'])}
${hostLoadSection(runs)}
${faultSection(named)}
${clockSection(runs)}
<section class="charts">
  <h2>Charts</h2>
  <div class="grid">
  ${chart('chart-percentiles', 'Percentile distribution', 'Delay (ms) at each percentile, over every repetition; the percentile axis is logarithmic in 1/(1 − p), so the tail gets room.', 'No histogram data.')}
  ${chart('chart-cdf', 'Cumulative distribution of delay', 'Fraction of messages delivered within a given delay (ms), over every repetition.', 'No histogram data.')}
  ${chart('chart-delay', 'Delay over time', `p50 (solid, dots) and p99 (dashed, squares) delay (ms) per second of the first repetition${fewPoints ? ' (a short run: one point per second)' : ''}; triangles and dashed lines mark handovers${hasFaults ? '; diamonds and solid black lines, labelled, mark faults on brokers' : ''}.`, 'This run recorded no per-second delay.')}
  ${chart('chart-throughput', 'Throughput over time', 'Messages per second of the first repetition, per variant: sent as a wide pale band, received as a darker dashed line; where lines coincide their dashes alternate. A triangle marks a second that received fewer than were sent.', 'This run recorded no timeline.')}
  ${chart('chart-cpu', 'CPU per service', 'CPU used, in % of one core, per service.', 'This run sampled no services.')}
  ${chart('chart-memory', 'Memory per service', 'Resident memory (MiB) per service.', 'This run sampled no services.')}
  </div>
</section>
<section>
  <h2>Run parameters and environment</h2>
  ${runs.map((run) => runTables(run, overlaid)).join('\n')}
</section>
</main>
<footer>Rendered by mqfed reports from <code>${escapeHtml(first.schema)}</code> results · charts by Chart.js ${escapeHtml(chartJs.version)} (MIT), inlined.</footer>
<script>${chartJs.source}</script>
<script type="application/json" id="mqfed-data">${jsonForScript(data)}</script>
<script>${clientSource()}</script>
</body>
</html>
`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The paper's note as a sentence: prefixed `Paper:` unless it already says so. */
export function paperNote(note: string): string {
  return /^\s*paper\b/i.test(note) ? note : `Paper: ${note}`;
}

function overheadTable(runs: readonly Run[], overlaid: boolean): string {
  const rows = runs.flatMap(({ results, label }) => {
    const c = results.comparison;
    const paper = results.paper.overhead;
    return (['p50', 'p99'] as const).map((at) => {
      const interval = c === null ? undefined : oursInterval(c, at);
      const verdict = overheadVerdict(interval?.estimate ?? null, paper, interval);
      return `<tr class="verdict-${verdict.kind}" data-at="${at}">${overlaid ? `<td class="run">${escapeHtml(label)}</td>` : ''}<td class="paths">cross-broker vs same-broker ${at}</td><td class="num ours">${
        interval === undefined ? '—' : escapeHtml(formatInterval(interval, 'percent'))
      }</td><td class="num">${paper === null ? '—' : escapeHtml(formatPercent(paper))}</td><td>${escapeHtml(verdict.text)}</td></tr>`;
    });
  });
  return `<table id="overhead">
  <thead><tr>${overlaid ? '<th>Run</th>' : ''}<th>Overhead: paths compared</th><th class="num">Ours</th><th class="num">Paper</th><th>Verdict</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table>
<p class="note">Overhead = (cross-broker − same-broker) / same-broker delay; 50 % means messages between brokers take one and a half times as long.</p>`;
}

/** The p99 delays of both paths with their intervals; "not recorded" in documents from v1. */
function p99Cells(c: Comparison): string {
  const cell = (estimate: number | undefined, interval: Interval | undefined) =>
    `<td class="num">${
      estimate === undefined || interval === undefined
        ? 'not recorded'
        : escapeHtml(formatInterval({ ...interval, estimate }))
    }</td>`;
  return (
    cell(c.sameBrokerP99Ms, c.intervals.sameBrokerP99Ms) +
    cell(c.crossBrokerP99Ms, c.intervals.crossBrokerP99Ms)
  );
}

/** The p50 and p99 delays the overhead is made of, per run, and each repetition's figures. */
function overheadPaths(runs: readonly Run[], overlaid: boolean): string {
  const compared = runs.filter((run) => run.results.comparison !== null);
  if (compared.length === 0) return '';
  const rows = compared.map(({ results, label }) => {
    const c = results.comparison!;
    const i = c.intervals;
    return `<tr>${overlaid ? `<td>${escapeHtml(label)}</td>` : ''}<td class="num">${escapeHtml(
      formatInterval({ ...i.sameBrokerP50Ms, estimate: c.sameBrokerP50Ms }),
    )}</td><td class="num">${escapeHtml(
      formatInterval({ ...i.crossBrokerP50Ms, estimate: c.crossBrokerP50Ms }),
    )}</td><td class="num">${escapeHtml(formatMs(c.crossBrokerP50Ms - c.sameBrokerP50Ms))} ms</td>${p99Cells(
      c,
    )}</tr>`;
  });
  const details = compared.map(({ results, label }, k) => {
    const reps = results.comparison!.perRepetition;
    const body = reps
      .map(
        (p, r) =>
          `<tr><td class="num">${r + 1}</td><td class="num">${escapeHtml(formatMs(p.sameBrokerP50Ms))}</td><td class="num">${escapeHtml(
            formatMs(p.crossBrokerP50Ms),
          )}</td><td class="num">${escapeHtml(formatPercent(p.overheadP50))}</td><td class="num">${escapeHtml(
            formatPercent(p.overheadP99),
          )}</td></tr>`,
      )
      .join('\n');
    return `<details class="repetitions" id="overhead-repetitions-${k}"><summary>Per repetition: overhead${
      overlaid ? ` of ${escapeHtml(label)}` : ''
    } (${escapeHtml(plural(reps.length, 'run'))})</summary>
<div class="scroll"><table class="repetitions-table compact">
  <thead><tr><th class="num">#</th><th class="num">same-broker p50 ms</th><th class="num">cross-broker p50 ms</th><th class="num">overhead p50</th><th class="num">overhead p99</th></tr></thead>
  <tbody>${body}</tbody>
</table></div></details>`;
  });
  return `<table id="overhead-paths" class="compact">
  <thead><tr>${overlaid ? '<th>Run</th>' : ''}<th class="num">same-broker p50</th><th class="num">cross-broker p50</th><th class="num">cross-broker hop (difference)</th><th class="num">same-broker p99</th><th class="num">cross-broker p99</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table>
${details.join('\n')}`;
}

type Figures = Pick<
  Variant,
  'latencyMs' | 'sent' | 'received' | 'lost' | 'duplicates' | 'reordered'
>;

function figuresRow(name: string, f: Figures, className: string): string {
  const l = f.latencyMs;
  // Nothing received, nothing measured: a dash, not a delay of 0.
  const ms = [l.p50, l.p90, l.p99, l.p999, l.max, l.mean].map(
    (v) => `<td class="num">${f.received === 0 ? '—' : escapeHtml(formatMs(v))}</td>`,
  );
  const counts = [f.sent, f.received, f.lost, f.duplicates, f.reordered].map(
    (v) => `<td class="num">${escapeHtml(formatCount(v))}</td>`,
  );
  return `<tr class="${className}"><td>${escapeHtml(name)}</td>${ms.join('')}${counts.join('')}</tr>`;
}

function figuresTable(runs: readonly Run[], overlaid: boolean): string {
  const rows: string[] = [];
  for (const run of runs) {
    for (const v of run.results.variants) {
      const name = seriesName(run, v.name, overlaid);
      rows.push(figuresRow(v.system === v.name ? name : `${name} (${v.system})`, v, 'variant'));
      for (const [part, split] of [
        ...Object.entries(v.byPath ?? {}),
        ...Object.entries(v.byPhase ?? {}),
      ]) {
        if (split !== undefined) rows.push(figuresRow(`└ ${part}`, split, 'split'));
      }
    }
  }
  return `<table id="figures">
  <thead><tr><th>Variant</th><th class="num">p50 ms</th><th class="num">p90 ms</th><th class="num">p99 ms</th><th class="num">p99.9 ms</th><th class="num">max ms</th><th class="num">mean ms</th><th class="num">sent</th><th class="num">received</th><th class="num">lost</th><th class="num">duplicates</th><th class="num">reordered</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table>`;
}

function handoverTable(runs: readonly Run[], overlaid: boolean): string {
  const rows: string[] = [];
  for (const run of runs) {
    for (const v of run.results.variants) {
      if (v.handovers.length === 0) continue;
      const gaps = v.handovers.flatMap((h) => (h.gapMs === undefined ? [] : [h.gapMs]));
      gaps.sort((a, b) => a - b);
      const median = gaps.length === 0 ? undefined : gaps[Math.floor((gaps.length - 1) / 2)]!;
      const max = gaps.at(-1);
      rows.push(
        `<tr><td>${escapeHtml(seriesName(run, v.name, overlaid))}</td><td class="num">${v.handovers.length}</td><td class="num">${
          v.handovers.length - gaps.length
        }</td><td class="num">${median === undefined ? '—' : escapeHtml(formatMs(median))}</td><td class="num">${
          max === undefined ? '—' : escapeHtml(formatMs(max))
        }</td></tr>`,
      );
    }
  }
  if (rows.length === 0) return '';
  return `<h3>Handovers</h3>
<table id="handovers">
  <thead><tr><th>Variant</th><th class="num">handovers</th><th class="num">no message after</th><th class="num">median gap ms</th><th class="num">max gap ms</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table>
<p class="note">Gap = disconnect at the old broker → first message at the new one.</p>`;
}

/** JSON that keeps each part on one line while it fits in `width`, and breaks it otherwise. */
export function compactJson(value: unknown, indent = '', width = 72): string {
  const line = JSON.stringify(value) ?? String(value);
  if (indent.length + line.length <= width || value === null || typeof value !== 'object') {
    return line;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    return `[\n${value.map((item) => `${inner}${compactJson(item, inner, width)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).map(
    ([key, item]) => `${inner}${JSON.stringify(key)}: ${compactJson(item, inner, width)}`,
  );
  return `{\n${entries.join(',\n')}\n${indent}}`;
}

function keyValueTable(entries: readonly [string, unknown][], className: string): string {
  const rows = entries.map(
    ([key, value]) =>
      `<tr><th scope="row">${escapeHtml(key)}</th><td><code>${escapeHtml(
        typeof value === 'string' ? value : compactJson(value),
      )}</code></td></tr>`,
  );
  return `<table class="kv ${className}"><tbody>${rows.join('')}</tbody></table>`;
}

function runTables({ results, label }: Run, overlaid: boolean): string {
  const e = results.environment;
  const run: [string, unknown][] = [
    ['schema', results.schema],
    ['scenario', results.scenario],
    ['seed', results.seed],
    ['git commit', results.gitCommit ?? 'none (not a git checkout)'],
    ['started at', results.startedAt],
    ['duration', `${formatMs(results.durationMs / 1000)} s`],
    ['repetitions', String(results.repetitions)],
  ];
  const environment: [string, unknown][] = [
    ['node', e.node],
    ['platform', `${e.platform} ${e.arch}`],
    ['cpus', `${e.cpus} × ${e.cpuModel}`],
    ['memory', formatBytes(e.memoryBytes)],
    ['topology', e.topology],
    ['link impairment', e.impairment],
    ['clock', e.clock],
    ...(e.mosquitto === undefined
      ? []
      : ([['Mosquitto baseline', `${e.mosquitto.version} (${e.mosquitto.path})`]] as [
          string,
          unknown,
        ][])),
    ...(e.placement === undefined
      ? []
      : ([
          ['placement', e.placement.summary],
          [
            'nodes',
            Object.entries(e.placement.services)
              .map(([service, node]) => `${service}: ${node}`)
              .join(', '),
          ],
        ] as [string, unknown][])),
    ...noiseEntries(results.noise),
  ];
  const parameters = Object.entries(results.parameters);
  return `<div class="run-tables">
  ${overlaid ? `<h3>${escapeHtml(label)}</h3>` : ''}
  <div class="kv-grid">
    <div><h4>Run</h4>${keyValueTable(run, 'run')}</div>
    <div class="parameters-block"><h4>Parameters</h4>${parameters.length === 0 ? '<p class="empty">none</p>' : keyValueTable(parameters, 'parameters')}</div>
    <div><h4>Environment</h4>${keyValueTable(environment, 'environment')}</div>
  </div>
</div>`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #dde2ea; --bg: #f6f7f9; --card: #fff; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 22px; margin: 0 0 6px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 28px 0 10px; }
h3 { font-size: 14px; margin: 0 0 8px; }
h4 { font-size: 13px; margin: 0 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.run-line, .note, figcaption, footer { color: var(--muted); }
.note { font-size: 12.5px; margin: 6px 0; }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
table { border-collapse: collapse; background: var(--card); border: 1px solid var(--line); width: 100%; }
th, td { padding: 5px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #eef1f5; font-weight: 600; font-size: 12.5px; white-space: nowrap; }
thead th.num { text-align: right; }
section > h3 { margin-top: 18px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.split td { color: var(--muted); font-size: 12.5px; }
tr.split td:first-child { padding-left: 22px; }
td.ours { font-weight: 700; }
tr.verdict-close td:last-child { color: #166534; }
tr.verdict-lower td:last-child { color: #1d4ed8; }
tr.verdict-higher td:last-child { color: #b45309; }
td.bad { color: #b91c1c; font-weight: 600; }
table.failed-faults { margin-top: 8px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.chart-card { margin: 0; padding: 14px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.chart { position: relative; }
figcaption { font-size: 12.5px; margin-top: 6px; }
.empty { color: var(--muted); font-style: italic; }
.kv-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; margin-bottom: 16px; }
.kv th { width: 38%; font-weight: 600; }
.kv code { white-space: pre-wrap; }
.parameters-block { grid-column: 1 / -1; order: 3; }
.parameters-block .kv th { width: 20%; }
footer { font-size: 12px; padding-top: 18px; padding-bottom: 28px; }
.banner { margin: 12px 0 4px; padding: 10px 14px; border-radius: 8px; border: 1px solid; }
.banner ul { margin: 6px 0 0; padding-left: 20px; }
.banner.warning { background: #fef3c7; border-color: #d97706; color: #78350f; }
.compared { margin: 0 0 8px; }
.grid.single { grid-template-columns: minmax(0, 760px); margin-top: 14px; }
details.repetitions { margin-top: 8px; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
details.repetitions summary { cursor: pointer; font-weight: 600; font-size: 13px; }
details.repetitions table { margin-top: 8px; }
.repetition-list { margin-top: 14px; }
td.empty { color: var(--muted); font-style: italic; text-align: center; }
td.total { font-weight: 600; }
table + table, table + details, details + table { margin-top: 10px; }
.floor { max-width: 760px; }
table.compact { width: auto; min-width: 50%; }
.scroll { overflow-x: auto; }
td.paths, td.run { white-space: nowrap; }
.floor th[scope=row] { font-weight: 600; }
.floor-verdict { margin: 8px 0; max-width: 900px; }
.floor-close { color: #b45309; font-weight: 600; }
`;
