import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Results, Variant } from '../harness/index.ts';
import { type FaultMarker, faultMarkers, faultSection } from './fault-section.ts';
import {
  escapeHtml,
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  jsonForScript,
} from './format.ts';
import { cdfCurve, decodeHistogram, type Point, percentileCurve } from './histogram-curves.ts';
import { parseResults } from './load-results.ts';
import { overheadVerdict } from './overhead-verdict.ts';

/** The ids of the report's chart canvases, in page order. */
export const CHART_IDS = [
  'chart-percentiles',
  'chart-cdf',
  'chart-delay',
  'chart-throughput',
  'chart-cpu',
  'chart-memory',
] as const;
export type ChartId = (typeof CHART_IDS)[number];

export interface RenderOptions {
  /** Names the runs when several are overlaid; default `run 1 (abc1234)` and so on. */
  labels?: readonly string[];
  /** Where each run came from (its file), shown in the page header and in errors. */
  sources?: readonly string[];
  /** The page title; default `mqfed report — <scenario>`. */
  title?: string;
}

interface Series {
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
  percentiles: Series[];
  cdf: Series[];
  delay: {
    label: string;
    p50: Point[];
    p99: Point[];
    handovers: HandoverMarker[];
    faults: FaultMarker[];
  }[];
  throughput: { label: string; sent: Point[]; received: Point[] }[];
  cpu: Series[];
  memory: Series[];
}

interface Run {
  label: string;
  results: Results;
  source?: string;
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

/** Series names: the variant alone for one run, `run · variant` when runs are overlaid. */
function seriesName(run: Run, name: string, overlaid: boolean): string {
  return overlaid ? `${run.label} · ${name}` : name;
}

export function buildChartData(runs: readonly Run[]): ChartData {
  const overlaid = runs.length > 1;
  const data: ChartData = {
    percentiles: [],
    cdf: [],
    delay: [],
    throughput: [],
    cpu: [],
    memory: [],
  };
  for (const run of runs) {
    for (const variant of run.results.variants) {
      const label = seriesName(run, variant.name, overlaid);
      // An empty string is a variant that recorded nothing: it keeps its place in the legend.
      const histogram =
        variant.histogram === ''
          ? undefined
          : decodeHistogram(variant.histogram, `variant ${variant.name}`);
      data.percentiles.push({ label, points: histogram ? percentileCurve(histogram) : [] });
      data.cdf.push({ label, points: histogram ? cdfCurve(histogram) : [] });
      data.delay.push({
        label,
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
        sent: variant.timeline.map((t) => pt(t.tMs, t.sent)),
        received: variant.timeline.map((t) => pt(t.tMs, t.received)),
      });
    }
    for (const service of run.results.services) {
      const label = seriesName(run, service.name, overlaid);
      data.cpu.push({ label, points: service.samples.map((s) => pt(s.tMs, s.cpuPercent)) });
      data.memory.push({ label, points: service.samples.map((s) => pt(s.tMs, s.rssBytes / MIB)) });
    }
  }
  return data;
}

/** Charts grow with their legends, so many overlaid series still leave room for the plot. */
function chartHeight(datasets: number): number {
  return 300 + 20 * Math.max(0, datasets - 4);
}

/** A timeline point: x in seconds since the start of the run. */
function pt(tMs: number, y: number): Point {
  return { x: tMs / 1000, y };
}

/** How many datasets each chart draws, for tests and for the page's own sanity. */
export function expectedDatasets(data: ChartData): Record<ChartId, number> {
  return {
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

  const chart = (id: ChartId, heading: string, caption: string, empty: string) => `
<figure class="chart-card">
  <h3>${escapeHtml(heading)}</h3>
  ${
    counts[id] > 0
      ? `<div class="chart" style="height: ${chartHeight(counts[id])}px"><canvas id="${id}" role="img" aria-label="${escapeHtml(heading)}" data-datasets="${counts[id]}"></canvas></div>`
      : `<p class="empty">${escapeHtml(empty)}</p>`
  }
  <figcaption>${escapeHtml(caption)}</figcaption>
</figure>`;

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
        }started ${escapeHtml(results.startedAt)} · ${escapeHtml(formatMs(results.durationMs / 1000))} s · seed ${escapeHtml(results.seed)} · commit <code>${escapeHtml(results.gitCommit ?? 'none')}</code> · ${escapeHtml(results.environment.topology)}</p>`,
    )
    .join('\n  ')}
</header>
<noscript><p class="empty">The charts need JavaScript; the tables below do not.</p></noscript>
<main>
<section>
  <h2>Federation overhead: ours against the paper's</h2>
  ${overheadTable(runs, overlaid)}
  ${runs.map(({ results }) => `<p class="note">Paper: ${escapeHtml(results.paper.note)}</p>`).join('\n  ')}
</section>
<section>
  <h2>Delay and counts per variant</h2>
  ${figuresTable(runs, overlaid)}
  ${handoverTable(runs, overlaid)}
</section>
${faultSection(named)}
<section class="charts">
  <h2>Charts</h2>
  <div class="grid">
  ${chart('chart-percentiles', 'Percentile distribution', 'Delay (ms) at each percentile; the percentile axis is logarithmic in 1/(1 − p), so the tail gets room.', 'No histogram data.')}
  ${chart('chart-cdf', 'Cumulative distribution of delay', 'Fraction of messages delivered within a given delay (ms).', 'No histogram data.')}
  ${chart('chart-delay', 'Delay over time', `p50 and p99 delay (ms) per second of the run; triangles and dashed lines mark handovers${hasFaults ? '; diamonds and solid black lines, labelled, mark faults on brokers' : ''}.`, 'This run recorded no per-second delay.')}
  ${chart('chart-throughput', 'Throughput over time', 'Messages sent and received per second.', 'This run recorded no timeline.')}
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

function overheadTable(runs: readonly Run[], overlaid: boolean): string {
  const rows = runs.flatMap(({ results, label }) => {
    const c = results.comparison;
    const paper = results.paper.overhead;
    const measures: [string, number | null][] = [
      ['p50', c?.overheadP50 ?? null],
      ['p99', c?.overheadP99 ?? null],
    ];
    return measures.map(([measure, ours]) => {
      const verdict = overheadVerdict(ours, paper);
      return `<tr class="verdict-${verdict.kind}">${overlaid ? `<td>${escapeHtml(label)}</td>` : ''}<td>${measure}</td><td class="num">${
        c === null ? '—' : escapeHtml(formatMs(c.sameBrokerP50Ms))
      }</td><td class="num">${c === null ? '—' : escapeHtml(formatMs(c.crossBrokerP50Ms))}</td><td class="num ours">${
        ours === null ? '—' : escapeHtml(formatPercent(ours))
      }</td><td class="num">${paper === null ? '—' : escapeHtml(formatPercent(paper))}</td><td>${escapeHtml(verdict.text)}</td></tr>`;
    });
  });
  return `<table id="overhead">
  <thead><tr>${overlaid ? '<th>Run</th>' : ''}<th>Overhead at</th><th class="num">Same-broker p50 (ms)</th><th class="num">Cross-broker p50 (ms)</th><th class="num">Ours</th><th class="num">Paper</th><th>Verdict</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table>
<p class="note">Overhead = (cross-broker − same-broker) / same-broker delay; 50 % means messages between brokers take one and a half times as long.</p>`;
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
  ];
  const environment: [string, unknown][] = [
    ['node', e.node],
    ['platform', `${e.platform} ${e.arch}`],
    ['cpus', `${e.cpus} × ${e.cpuModel}`],
    ['memory', formatBytes(e.memoryBytes)],
    ['topology', e.topology],
    ['link impairment', e.impairment],
    ['clock', e.clock],
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
`;
