import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Results } from '../harness/results/index.ts';
import { tempDir } from '../system/common/testing.ts';
import { deliveryTableText } from './delivery-section.ts';
import { FIXTURE_FAULTS, syntheticResults, v1Document } from './fixtures.ts';
import { floorVerdict, smallestHop } from './floor-section.ts';
import { escapeHtml, formatInterval, formatMs } from './format.ts';
import { cdfCurve, decodeHistogram, percentileCurve } from './histogram-curves.ts';
import { loadResults, parseResults } from './load-results.ts';
import { overheadVerdict } from './overhead-verdict.ts';
import { ReportError } from './report-error.ts';
import {
  buildChartData,
  chartJsSource,
  compactJson,
  expectedDatasets,
  paperNote,
  renderReportHtml,
} from './report-html.ts';

const fixture = syntheticResults();
const html = renderReportHtml(fixture);

/** The error a call throws, for asserting its code and message. */
function thrown(fn: () => unknown): ReportError {
  try {
    fn();
  } catch (error) {
    return error as ReportError;
  }
  throw new Error('expected a throw');
}

function section(page: string, id: string): string {
  const start = page.indexOf(`<table id="${id}"`);
  expect(start).toBeGreaterThanOrEqual(0);
  return page.slice(start, page.indexOf('</table>', start));
}

/** The overhead table's body rows, p50 then p99 (per run). */
function overheadRows(page: string): string[] {
  const table = section(page, 'overhead');
  return table.slice(table.indexOf('<tbody>')).split('<tr ').slice(1);
}

const interval = (estimate: number, lo = estimate, hi = estimate, n = 1) => ({
  estimate,
  lo,
  hi,
  n,
});

/** A one-run comparison with these figures. */
function comparisonOf(
  same: number,
  cross: number,
  overheadP50: number,
  overheadP99: number,
): NonNullable<Results['comparison']> {
  return {
    paths: ['same-broker', 'cross-broker'],
    sameBrokerP50Ms: same,
    crossBrokerP50Ms: cross,
    overheadP50,
    overheadP99,
    intervals: {
      overheadP50: interval(overheadP50),
      overheadP99: interval(overheadP99),
      sameBrokerP50Ms: interval(same),
      crossBrokerP50Ms: interval(cross),
    },
    perRepetition: [{ sameBrokerP50Ms: same, crossBrokerP50Ms: cross, overheadP50, overheadP99 }],
  };
}

/** A table's body rows as the text of their cells, with each cell's class. */
function cells(table: string): { text: string; className: string }[][] {
  const body = table.slice(table.indexOf('<tbody>'));
  return body
    .split('<tr>')
    .slice(1)
    .map((row) =>
      [...row.matchAll(/<td(?: class="([^"]*)")?>(.*?)<\/td>/g)].map((m) => ({
        text: m[2]!,
        className: m[1] ?? '',
      })),
    );
}

describe('the fixture', () => {
  it('is a valid results document and the same every time', () => {
    expect(parseResults(JSON.parse(JSON.stringify(fixture)))).toBeTruthy();
    expect(JSON.stringify(syntheticResults())).toBe(JSON.stringify(fixture));
    const withFaults = syntheticResults({ faults: true });
    expect(parseResults(JSON.parse(JSON.stringify(withFaults))).variants[1]!.outages).toHaveLength(
      2,
    );
  });
});

describe('the HTML report', () => {
  it('is one file that fetches nothing: no external scripts, styles or images', () => {
    expect(html).not.toMatch(/src\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/href\s*=\s*["']?\s*(https?:)?\/\//i);
    const style = html.slice(html.indexOf('<style>'), html.indexOf('</style>'));
    expect(style).not.toMatch(/@import|url\(/i);
  });

  it('inlines Chart.js from node_modules', () => {
    const chartJs = chartJsSource();
    expect(chartJs.version).toMatch(/^4\./);
    expect(html).toContain(`Chart.js v${chartJs.version}`);
    expect(html).toContain(chartJs.source.slice(0, 2000));
    expect(html.length).toBeGreaterThan(chartJs.source.length);
  });

  it('escapes a hostile scenario, variant and parameter so none can inject markup', () => {
    const hostile = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const results: Results = {
      ...fixture,
      scenario: hostile,
      description: `"'&${hostile}`,
      parameters: { [hostile]: hostile },
      variants: fixture.variants.map((v) => ({ ...v, name: `${v.name} ${hostile}` })),
      services: [{ name: hostile, samples: fixture.services[0]!.samples }],
    };
    const page = renderReportHtml(results);
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img');
    expect(page).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;',
    );
    // Only the report's own three scripts open and close.
    expect(page.match(/<script\b/gi)).toHaveLength(3);
    expect(page.match(/<\/script/gi)).toHaveLength(3);
    // In the embedded chart data the names survive intact, as JSON escapes.
    expect(page).toContain('\\u003cscript\\u003ealert(1)');
  });

  it('shows our overhead against the paper’s with the right numbers and a verdict', () => {
    const page = renderReportHtml({
      ...fixture,
      comparison: comparisonOf(1.25, 1.775, 0.42, 0.615),
    });
    const table = section(page, 'overhead');
    expect(table).toContain('42.0 %');
    expect(table).toContain('61.5 %');
    expect(table.match(/50\.0 %/g)).toHaveLength(2); // the paper's, on both rows
    expect(table).toContain('class="verdict-close"');
    expect(table).toContain('class="verdict-higher"');
    expect(table).toContain('About the same as the paper');
    expect(table).toContain('Higher than the paper (+11.5 pts)');
    const paths = section(page, 'overhead-paths');
    expect(paths).toContain('1.25 ms');
    expect(paths).toContain('1.77 ms'); // 1.775 at two decimals
    expect(paths).toContain('0.525 ms'); // the hop, cross − same
  });

  it('gives the p99 row its own figures, not the p50 row’s', () => {
    const page = renderReportHtml({
      ...fixture,
      comparison: comparisonOf(1.25, 1.775, 0.42, 0.615),
    });
    const [p50, p99] = overheadRows(page);
    expect(p50).toContain('cross-broker vs same-broker p50');
    expect(p50).toContain('42.0 %');
    expect(p50).not.toContain('61.5 %');
    expect(p99).toContain('cross-broker vs same-broker p99');
    expect(p99).toContain('61.5 %');
    expect(p99).not.toContain('42.0 %');
    // The p50 delays are not repeated on the p99 row: it shows no delay it does not have.
    expect(p99).not.toContain('1.25');
    expect(p99).not.toContain('1.77');
  });

  it('names the two paths it compares', () => {
    expect(html).toContain('Compared: <strong>cross-broker vs same-broker</strong>');
    expect(section(html, 'overhead')).toContain('cross-broker vs same-broker p50');
  });

  it('prefixes the paper’s note with "Paper:" only when the note does not already say so', () => {
    const own = renderReportHtml({
      ...fixture,
      paper: { overhead: 0.5, note: 'Paper, scenario 1' },
    });
    expect(own).toContain('>Paper, scenario 1<');
    expect(own).not.toContain('Paper: Paper');
    expect(paperNote('paper §4: about 27 %')).toBe('paper §4: about 27 %');
    expect(paperNote('about 50 % [paper]')).toBe('Paper: about 50 % [paper]');
    expect(html).toContain('Paper: about 50 % in the single-machine synthetic scenarios [paper]');
  });

  it('says so when a run has no comparison or the paper has no figure', () => {
    const none = section(renderReportHtml({ ...fixture, comparison: null }), 'overhead');
    expect(none).toContain('no same-broker / cross-broker pair');
    const noPaper = section(
      renderReportHtml({ ...fixture, paper: { overhead: null, note: 'n/a' } }),
      'overhead',
    );
    expect(noPaper).toContain('The paper gives no figure');
  });

  it('lists every variant’s figures and counts, and the run’s parameters and environment', () => {
    const figures = section(html, 'figures');
    for (const v of fixture.variants) {
      expect(figures).toContain(v.name);
      for (const value of Object.values(v.latencyMs)) expect(figures).toContain(formatMs(value));
    }
    expect(figures).toContain('2,998'); // received by the cross-broker variant
    expect(html).toContain('0123456789abcdef0123456789abcdef01234567');
    expect(html).toContain('seed 42');
    expect(html).toContain('payloadBytes');
    expect(html).toContain('Synthetic CPU @ 2.0GHz');
    expect(html).toContain('<table id="handovers"');
  });

  it('names the Mosquitto a baseline ran on, and nothing of it where none ran', () => {
    expect(html).not.toContain('Mosquitto baseline');
    const withBaseline = renderReportHtml({
      ...fixture,
      environment: {
        ...fixture.environment,
        mosquitto: { path: '/usr/sbin/mosquitto', version: '2.0.11' },
      },
    });
    expect(withBaseline).toContain('Mosquitto baseline');
    expect(withBaseline).toContain('2.0.11 (/usr/sbin/mosquitto)');
  });

  it('has one canvas per chart with the datasets the page will draw', () => {
    const counts = expectedDatasets(buildChartData([{ label: 'x', results: fixture }]));
    expect(counts).toEqual({
      'chart-overhead': 1, // one run's p50 and p99 overhead
      'chart-intervals': 2, // p50 and p99 over the variants
      'chart-percentiles': 2,
      'chart-cdf': 2,
      'chart-delay': 5, // p50 and p99 per variant, handovers of the mobile one
      'chart-throughput': 4,
      'chart-cost': 2, // one bar per variant
      'chart-handover': 0, // no handover figures in this document
      'chart-cpu': 4,
      'chart-memory': 4,
    });
    for (const [id, n] of Object.entries(counts)) {
      if (n === 0) continue;
      expect(html).toContain(`<canvas id="${id}" role="img"`);
      expect(html).toMatch(new RegExp(`id="${id}"[^>]*data-datasets="${n}"`));
    }
  });

  it('prints nested parameters as JSON broken over lines only where a line would be too long', () => {
    expect(compactJson({ a: [1, 2], b: 'x' })).toBe('{"a":[1,2],"b":"x"}');
    const long = {
      publishers: [{ name: 'pub', broker: ['a', 'b', 'c'], topics: ['t/{i}'], rate: 1000 }],
    };
    expect(compactJson(long, '', 40)).toBe(
      [
        '{',
        '  "publishers": [',
        '    {',
        '      "name": "pub",',
        '      "broker": ["a","b","c"],',
        '      "topics": ["t/{i}"],',
        '      "rate": 1000',
        '    }',
        '  ]',
        '}',
      ].join('\n'),
    );
  });

  it('shows a note instead of an empty chart when the run sampled no services', () => {
    const page = renderReportHtml({ ...fixture, services: [] });
    expect(page).not.toContain('id="chart-cpu"');
    expect(page).toContain('This run sampled no services.');
  });

  it('overlays several runs with each series named by its run', () => {
    const slower = syntheticResults({ scale: 1.2, gitCommit: 'fedcba9876543210' });
    const data = buildChartData([
      { label: 'a', results: fixture },
      { label: 'b', results: slower },
    ]);
    expect(data.percentiles.map((s) => s.label)).toEqual([
      'a · same-broker qos0',
      'a · cross-broker qos0',
      'b · same-broker qos0',
      'b · cross-broker qos0',
    ]);
    const page = renderReportHtml([fixture, slower]);
    expect(page).toContain('run 2 (fedcba9)');
  });
});

describe('figures over repetitions', () => {
  const five = syntheticResults({ repetitions: 5, samples: 2_000 });
  const page = renderReportHtml(five);

  it('print a median with its interval and n, and one run as having no interval', () => {
    expect(formatInterval({ estimate: 0.512, lo: 0.498, hi: 0.53, n: 5 })).toBe(
      '0.512 ms (0.498–0.530, n=5)',
    );
    expect(formatInterval({ estimate: 0.512, lo: 0.512, hi: 0.512, n: 1 })).toBe(
      '0.512 ms (1 run, no interval)',
    );
    expect(formatInterval({ estimate: 0.42, lo: 0.401, hi: 0.443, n: 5 }, 'percent')).toBe(
      '42.0 % (40.1–44.3, n=5)',
    );
  });

  it('show each variant’s p50 and p99 with intervals over five runs, and the overhead’s', () => {
    const table = section(page, 'repeatability');
    for (const v of five.variants) {
      expect(table).toContain(formatInterval(v.intervals.p50Ms));
      expect(table).toContain(formatInterval(v.intervals.p99Ms));
    }
    expect(table.match(/ ms \([\d.]+–[\d.]+, n=5\)/g)).toHaveLength(4);
    const [p50, p99] = overheadRows(page);
    expect(p50).toMatch(/\d+\.\d % \([\d.]+–[\d.]+, n=5\)/);
    expect(p99).toMatch(/\d+\.\d % \([\d.]+–[\d.]+, n=5\)/);
  });

  it('never show a one-run figure as exact', () => {
    expect(html).toContain('1 run, no interval');
    expect(html).not.toContain('n=1)');
  });

  it('carry each interval and each repetition’s figure to the error-bar charts', () => {
    const data = buildChartData([{ label: 'x', results: five }]);
    expect(data.intervals.categories).toEqual(['same-broker qos0', 'cross-broker qos0']);
    const p99 = data.intervals.series.find((s) => s.measure === 'p99')!;
    const cross = p99.values[1]!;
    expect(cross).toMatchObject({
      estimate: five.variants[1]!.intervals.p99Ms.estimate,
      lo: five.variants[1]!.intervals.p99Ms.lo,
      hi: five.variants[1]!.intervals.p99Ms.hi,
      n: 5,
    });
    expect(cross.reps).toEqual(five.variants[1]!.repetitions.map((r) => r.latencyMs.p99));
    const overhead = data.overhead.series[0]!.values;
    expect(overhead[0]!.estimate).toBeCloseTo(five.comparison!.overheadP50 * 100, 6);
    expect(overhead[1]!.estimate).toBeCloseTo(five.comparison!.overheadP99 * 100, 6);
    expect(overhead[1]!.reps).toHaveLength(5);
    expect(data.overhead.paper).toEqual([{ value: 50, label: 'paper 50.0 %' }]);
  });

  it('list every repetition of every variant in a collapsed table', () => {
    for (const k of [0, 1]) {
      const start = page.indexOf(`<details class="repetitions" id="repetitions-${k}">`);
      expect(start).toBeGreaterThan(0);
      const details = page.slice(start, page.indexOf('</details>', start));
      expect(details).toContain('(5 runs)');
      expect(cells(details)).toHaveLength(5);
    }
    expect(page).toContain('id="overhead-repetitions-0"');
  });

  it('show publisher lag beside the delays, or "not measured"', () => {
    const table = section(page, 'repeatability');
    expect(table).toContain('publisher lag p99 ms');
    expect(table).toContain(formatMs(five.variants[0]!.publisherLagMs!.p99));
    const unmeasured = renderReportHtml({
      ...five,
      variants: five.variants.map((v) => ({ ...v, publisherLagMs: null })),
    });
    expect(section(unmeasured, 'repeatability').match(/not measured/g)).toHaveLength(2);
  });
});

describe('the measuring floor', () => {
  it('is shown with a sentence holding it against the smallest hop', () => {
    const floor = section(html, 'floor-0');
    expect(floor).toContain('Scheduler lateness');
    expect(floor).toContain('Loopback delay');
    expect(floor).toContain('Recording one delivery');
    const hop = smallestHop(fixture)!;
    expect(hop.what).toBe('the cross-broker hop');
    expect(hop.ms).toBeCloseTo(
      fixture.comparison!.crossBrokerP50Ms - fixture.comparison!.sameBrokerP50Ms,
      9,
    );
    const verdict = floorVerdict(fixture.floor!, hop);
    expect(verdict.kind).toBe('well-below');
    expect(verdict.text).toMatch(
      /^The scheduler's p99 lateness \(0\.010 ms\) is \d+× below the cross-broker hop \([\d.]+ ms, cross − same-broker p50\)/,
    );
    expect(html).toContain(escapeHtml(verdict.text));
  });

  it('warns when the hop is barely above the floor', () => {
    const floor = {
      ...fixture.floor!,
      schedulerLagMs: { ...fixture.floor!.schedulerLagMs, p99: 0.2 },
    };
    const verdict = floorVerdict(floor, { what: 'the cross-broker hop', ms: 0.3 });
    expect(verdict.kind).toBe('close');
    expect(verdict.text).toContain('1.5× below the cross-broker hop');
    expect(verdict.text).toContain('barely measurable');
    expect(floorVerdict(floor, { what: 'a hop', ms: 0.1 }).text).toContain('2.0× above a hop');
  });

  it('says "not measured" when the results have none', () => {
    const page = renderReportHtml({ ...fixture, floor: null });
    expect(page).toContain('<h2>Measuring floor</h2>');
    expect(page).toContain('Not measured: these results carry no floor figures.');
  });
});

describe('machine noise', () => {
  const warnings = ['load average reached 3.2 on 2 CPUs', 'CPU steal 12 % <of all>'];
  const noisy = { ...fixture, noise: { ...fixture.noise!, loadAverageMax: 3.2, warnings } };

  it('puts a warning banner at the top of the page, before any figure', () => {
    const page = renderReportHtml(noisy);
    const banner = page.indexOf('id="noise-warning"');
    expect(banner).toBeGreaterThan(0);
    expect(banner).toBeLessThan(page.indexOf('<table'));
    expect(page).toContain('role="alert"');
    expect(page).toContain('<li>load average reached 3.2 on 2 CPUs</li>');
    expect(page).toContain('CPU steal 12 % &lt;of all&gt;');
  });

  it('has no banner on a quiet machine, and the load figures in the environment table', () => {
    expect(html).not.toContain('id="noise-warning"');
    expect(html).toContain('0.20 before, 1.10 at most during the run');
    expect(html).toContain('none: a quiet machine');
    const page = renderReportHtml({ ...fixture, noise: null });
    expect(page).toContain('machine load');
    expect(page).toContain('not measured');
  });

  it('names the run a warning came from when runs are overlaid', () => {
    const page = renderReportHtml([fixture, noisy], { labels: ['quiet', 'busy'] });
    expect(page).toContain('<li><strong>busy</strong>: load average reached 3.2 on 2 CPUs</li>');
    expect(page).not.toContain('<strong>quiet</strong>:');
  });
});

describe('the cost section', () => {
  it('shows CPU µs per delivered message per service and link bytes, with a bar chart', () => {
    const rows = cells(section(html, 'cost-table'));
    expect(rows.map((r) => r.map((c) => c.text))).toEqual([
      ['same-broker qos0', '3,000', '40.0', '35.0', '75.0', '—'],
      ['cross-broker qos0', '2,998', '40.0', '35.0', '75.0', '96.0'],
    ]);
    const data = buildChartData([{ label: 'x', results: fixture }]);
    expect(data.cost.categories).toEqual(['broker-b1', 'broker-b2']);
    expect(data.cost.series.map((s) => s.values)).toEqual([
      [40, 35],
      [40, 35],
    ]);
    expect(html).toMatch(/id="chart-cost"[^>]*data-datasets="2"/);
  });

  it('says "not measured" and draws no chart when no variant measured CPU', () => {
    const page = renderReportHtml(v1Document(fixture) as never);
    expect(page).not.toContain('id="chart-cost"');
    expect(page).toContain('Not measured: these results carry no CPU cost.');
    expect(section(page, 'cost-table')).toContain('not measured');
  });
});

describe('a v1 document, upgraded', () => {
  const page = renderReportHtml(v1Document(fixture) as never);

  it('renders, with floor, noise, publisher lag and cost as "not measured"', () => {
    expect(page).toContain('Not measured: these results carry no floor figures.');
    expect(section(page, 'repeatability')).toContain('not measured');
    expect(page).toContain('machine load');
    expect(page).not.toContain('id="noise-warning"');
    expect(section(page, 'overhead')).toContain('(1 run, no interval)');
    expect(page).not.toContain('n=1)');
  });
});

describe('overlaid runs', () => {
  const runs = [1, 2, 3].map((seed) =>
    syntheticResults({ seed, samples: 1_000, repetitions: 3, gitCommit: `${seed}`.repeat(40) }),
  );

  it('tell each series which run it belongs to, so each run gets a hue of its own', () => {
    const data = buildChartData(runs.map((results, i) => ({ label: `r${i}`, results })));
    expect(data.runs).toBe(3);
    expect(data.percentiles.map((s) => [s.run, s.index])).toEqual([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
    ]);
    expect(data.cpu.map((s) => s.run)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(data.intervals.series.map((s) => `${s.label} ${s.run}`)).toEqual([
      'r0 · p50 0',
      'r0 · p99 0',
      'r1 · p50 1',
      'r1 · p99 1',
      'r2 · p50 2',
      'r2 · p99 2',
    ]);
    expect(data.overhead.series.map((s) => s.label)).toEqual(['r0', 'r1', 'r2']);
  });

  it('show one paper note for runs that share it', () => {
    const page = renderReportHtml(runs);
    expect(page.match(/class="note paper-note"/g)).toHaveLength(1);
    expect(overheadRows(page)).toHaveLength(6);
  });
});

describe('the faults and recovery section', () => {
  const withFaults = syntheticResults({ faults: true });
  const page = renderReportHtml(withFaults);
  const cross = (v: Partial<Results['variants'][number]>): Results => ({
    ...fixture,
    variants: [fixture.variants[0]!, { ...fixture.variants[1]!, ...v }],
  });

  it('is absent, and the charts unchanged, when no variant had faults', () => {
    expect(html).not.toContain('Faults and recovery');
    expect(html).not.toContain('id="faults"');
    expect(html).not.toContain('mark faults');
    const data = buildChartData([{ label: 'x', results: fixture }]);
    expect(data.delay.map((d) => d.faults)).toEqual([[], []]);
  });

  it('shows each outage with its times, recovery, loss while down and surviving paths', () => {
    expect(page).toContain('<h2>Faults and recovery</h2>');
    const table = section(page, 'outages-0');
    const [b2, b1] = cells(table);
    expect(b2!.map((c) => c.text)).toEqual([
      'b2',
      'kill → restart',
      '12.00',
      '22.85',
      '1240.0',
      '1,073 / 1,085',
      '2,411 / 2,418',
      '7',
    ]);
    // Paths that should have survived but lost messages are flagged.
    expect(b2!.at(-1)!.className).toBe('num bad');
    expect(b1!.map((c) => c.text)).toEqual([
      'b1',
      'stop → —',
      '27.00',
      '—',
      'not recovered',
      '300 / 300',
      '0 / 0',
      '0',
    ]);
    expect(b1!.at(-1)!.className).toBe('num');
    // Only the variant with faults gets a table.
    expect(page).not.toContain('id="outages-1"');
    expect(page).toContain('<h3>cross-broker qos0</h3>');
    expect(page).not.toContain('<h3>same-broker qos0</h3>');
  });

  it('lists the faults that failed with their error', () => {
    const rows = cells(section(page, 'failed-faults-0'));
    expect(rows.map((r) => r.map((c) => c.text))).toEqual([
      ['25.00', 'b2', 'pause', 'no such process'],
    ]);
  });

  it('marks every fault on the delay chart, apart from handovers', () => {
    const data = buildChartData([{ label: 'x', results: withFaults }]);
    expect(data.delay[0]!.faults).toEqual([]);
    expect(data.delay[1]!.faults.map((f) => [f.x, f.label])).toEqual([
      [12, 'kill b2'],
      [22, 'restart b2'],
      [25, 'pause b2 (failed)'],
      [27, 'stop b1'],
    ]);
    expect(data.delay[1]!.faults[2]!.text).toBe(
      'pause b2 (failed) at 25.00 s, took 2.00 ms: no such process',
    );
    // p50 and p99 per variant, handovers and faults of the cross-broker one.
    expect(expectedDatasets(data)['chart-delay']).toBe(6);
    expect(page).toMatch(/id="chart-delay"[^>]*data-datasets="6"/);
    expect(page).toContain('diamonds and solid black lines, labelled, mark faults');
  });

  it('appears for a failed fault alone, but not for faults that made no outage', () => {
    const failedOnly = renderReportHtml(
      cross({ faults: FIXTURE_FAULTS.faults!.slice(2, 3), outages: [] }),
    );
    expect(failedOnly).toContain('No broker was out of service.');
    expect(failedOnly).toContain('<table id="failed-faults-0"');
    const harmless = renderReportHtml(
      cross({ faults: [{ tMs: 5_000, broker: 'b1', action: 'resume', tookMs: 1 }], outages: [] }),
    );
    expect(harmless).not.toContain('id="faults"');
    expect(harmless).toContain('mark faults'); // still on the chart
  });

  it('escapes broker names, actions and errors', () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const outage = FIXTURE_FAULTS.outages![0]!;
    const hostilePage = renderReportHtml(
      cross({
        faults: [{ tMs: 1_000, broker: hostile, action: hostile, tookMs: 0, error: hostile }],
        outages: [{ ...outage, broker: hostile, down: hostile, up: hostile }],
      }),
    );
    expect(hostilePage).not.toContain('<img');
    expect(hostilePage).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('names each variant by its run when runs are overlaid', () => {
    const overlaid = renderReportHtml([withFaults, withFaults], { labels: ['a', 'b'] });
    expect(overlaid).toContain('<h3>a · cross-broker qos0</h3>');
    expect(overlaid).toContain('<h3>b · cross-broker qos0</h3>');
    expect(overlaid).toContain('<table id="outages-1"');
  });
});

describe('the delivery table', () => {
  const withDelivery = syntheticResults({ delivery: true, repetitions: 3 });
  const page = renderReportHtml(withDelivery);
  /** The table's body rows: each row's QoS and the text and class of its cells. */
  const rowsOf = (table: string) =>
    [...table.matchAll(/<tr class="([^"]*)" data-qos="(\d)">(.*?)<\/tr>/g)].map((m) => ({
      className: m[1]!,
      qos: Number(m[2]),
      cells: [...m[3]!.matchAll(/<td(?: class="([^"]*)")?>(.*?)<\/td>/g)].map((c) => ({
        text: c[2]!,
        className: c[1] ?? '',
      })),
    }));

  it('shows per variant and QoS sent, acknowledged, expected, delivered, lost and duplicated', () => {
    expect(page).toContain('<h2>Delivery: sent, acknowledged, delivered, lost, duplicated</h2>');
    const table = section(page, 'delivery');
    expect(table).toMatch(
      /sent<\/th><th class="num">acknowledged<\/th><th class="num">expected<\/th><th class="num">delivered<\/th><th class="num">lost<\/th><th class="num">duplicated<\/th>/,
    );
    const rows = rowsOf(table);
    expect(rows.map((row) => [row.cells[0]!.text, row.qos])).toEqual([
      ['same-broker qos0', 0],
      ['cross-broker qos0', 0],
      ['cross-broker qos0', 1],
    ]);
    // Summed over the three repetitions: QoS 0 has no acknowledgement, a dash and not 0.
    const [, qos0, qos1] = rows;
    expect(qos0!.cells.slice(1).map((c) => c.text)).toEqual([
      '0',
      '9,000',
      '—',
      '9,000',
      '8,976',
      '24',
      '0',
      '0',
    ]);
    expect(qos1!.cells.slice(1).map((c) => c.text)).toEqual([
      '1',
      '9,000',
      '8,988',
      '17,976',
      '17,973',
      '3',
      '18',
      '6',
    ]);
    // Losses and duplicates stand out; nothing else does.
    expect(qos1!.cells.map((c) => c.className.includes('bad'))).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      true,
      false,
    ]);
    const merged = withDelivery.variants[1]!.delivery!;
    for (const row of merged) expect(row.delivered + row.lost).toBe(row.expected);
  });

  it('lists each repetition’s rows in a collapsed table', () => {
    expect(page).toContain('Per repetition: delivery of same-broker qos0 (3 runs)');
    const details = page.slice(
      page.indexOf('Per repetition: delivery of cross-broker qos0 (3 runs)'),
    );
    const table = details.slice(0, details.indexOf('</table>'));
    expect(rowsOf(table).map((row) => [row.cells[0]!.text, row.qos, row.cells[6]!.text])).toEqual([
      ['repetition 1', 0, '7'],
      ['repetition 1', 1, '0'],
      ['repetition 2', 0, '8'],
      ['repetition 2', 1, '1'],
      ['repetition 3', 0, '9'],
      ['repetition 3', 1, '2'],
    ]);
  });

  it('states the rules it counts by', () => {
    const note = page.slice(page.indexOf('<section id="delivery-section">'));
    expect(note).toMatch(/Acknowledged: of those, PUBACKed by the broker \(QoS 1 only\)/);
    expect(note).toMatch(/Delivered \+ lost = expected/);
  });

  it('is absent for a document without accounting, such as an old one', () => {
    expect(html).not.toContain('id="delivery"');
    expect(renderReportHtml(v1Document(withDelivery) as unknown as Results)).not.toContain(
      'id="delivery"',
    );
  });

  it('escapes variant names, and names each by its run when runs are overlaid', () => {
    const hostile = structuredClone(withDelivery);
    hostile.variants[1]!.name = '<img src=x onerror=alert(1)>';
    const escaped = renderReportHtml(hostile);
    expect(section(escaped, 'delivery')).not.toContain('<img');
    expect(section(escaped, 'delivery')).toContain('&lt;img src=x');
    const overlaid = renderReportHtml([withDelivery, withDelivery], { labels: ['A', 'B'] });
    const names = rowsOf(section(overlaid, 'delivery')).map((row) => row.cells[0]!.text);
    expect(names).toContain('A · cross-broker qos0');
    expect(names).toContain('B · cross-broker qos0');
  });

  it('prints as a table on the terminal, aligned, with a dash for QoS 0', () => {
    const text = deliveryTableText(withDelivery);
    expect(text.split('\n')).toEqual([
      '  delivery           qos   sent  acknowledged  expected  delivered  lost  duplicated  delivered unacked',
      '  same-broker qos0     0  9,000             —     9,000      8,976    24           0                  0',
      '  cross-broker qos0    0  9,000             —     9,000      8,976    24           0                  0',
      '  cross-broker qos0    1  9,000         8,988    17,976     17,973     3          18                  6',
      '',
    ]);
    expect(deliveryTableText(fixture)).toBe('');
  });
});

describe('histogram curves', () => {
  const histogram = decodeHistogram(fixture.variants[0]!.histogram, 'same');

  it('read the percentile distribution on a 1/(1 − p) axis that ends where the samples do', () => {
    const curve = percentileCurve(histogram);
    expect(curve[0]!.x).toBe(1);
    expect(curve.at(-1)!.x).toBeCloseTo(10_000); // 20 000 samples: up to 99.99 %, not 99.999 %
    const at99 = curve.find((p) => Math.abs(p.x - 100) < 1e-6)!;
    expect(at99.y).toBe(fixture.variants[0]!.latencyMs.p99);
    for (let i = 1; i < curve.length; i++)
      expect(curve[i]!.y).toBeGreaterThanOrEqual(curve[i - 1]!.y);
  });

  it('read a CDF that rises from 0 to 1', () => {
    const cdf = cdfCurve(histogram);
    expect(cdf[0]!.y).toBe(0);
    expect(cdf.at(-1)!.y).toBe(1);
    // The last point is the top of the max's bucket: within the histogram's 3 digits of it.
    const max = fixture.variants[0]!.latencyMs.max;
    expect(cdf.at(-1)!.x).toBeGreaterThanOrEqual(max);
    expect(cdf.at(-1)!.x).toBeLessThanOrEqual(max * 1.001);
    for (let i = 1; i < cdf.length; i++) {
      expect(cdf[i]!.x).toBeGreaterThanOrEqual(cdf[i - 1]!.x);
      expect(cdf[i]!.y).toBeGreaterThanOrEqual(cdf[i - 1]!.y);
    }
  });

  it('refuse a histogram that is not an encoded HdrHistogram', () => {
    expect(thrown(() => decodeHistogram('not a histogram', 'v')).code).toBe('HISTOGRAM_INVALID');
    const broken = { ...fixture, variants: [{ ...fixture.variants[0]!, histogram: 'AAAA' }] };
    const error = thrown(() => renderReportHtml(broken));
    expect(error.code).toBe('HISTOGRAM_INVALID');
    expect(error.message).toContain('variant same-broker qos0');
  });

  it('take an empty string as a variant that recorded nothing', () => {
    const empty = { ...fixture, variants: [{ ...fixture.variants[0]!, histogram: '' }] };
    const data = buildChartData([{ label: 'x', results: empty }]);
    expect(data.percentiles).toEqual([{ label: 'same-broker qos0', run: 0, index: 0, points: [] }]);
  });
});

describe('the overhead verdict', () => {
  it('calls within ±10 points of the paper about the same, and says which way otherwise', () => {
    expect(overheadVerdict(0.45, 0.5).kind).toBe('close');
    expect(overheadVerdict(0.2, 0.5).kind).toBe('lower');
    expect(overheadVerdict(0.9, 0.27).kind).toBe('higher');
    expect(overheadVerdict(null, 0.5).kind).toBe('no-comparison');
    expect(overheadVerdict(0.3, null).kind).toBe('no-paper');
  });
});

describe('a broken results file', () => {
  it('is refused with the offending field named', () => {
    const broken = JSON.parse(JSON.stringify(fixture));
    broken.variants[1].latencyMs.p99 = 'slow';
    const error = thrown(() => parseResults(broken, 'results.json'));
    expect(error).toBeInstanceOf(ReportError);
    expect(error.code).toBe('RESULTS_INVALID');
    expect(error.message).toMatch(/^results\.json: variants\[1\]\.latencyMs\.p99: /);
  });

  it('is refused by the renderer too, and a wrong schema version names `schema`', () => {
    const error = thrown(() =>
      renderReportHtml({ ...fixture, schema: 'mqfed.results/v0' } as never),
    );
    expect(error.code).toBe('RESULTS_INVALID');
    expect(error.message).toContain('schema: ');
  });

  it('that is not JSON or not there is unreadable', async () => {
    await using dir = await tempDir('mqfed-reports-');
    const file = join(dir.path, 'results.json');
    await writeFile(file, '{"schema": ');
    await expect(loadResults(file)).rejects.toMatchObject({ code: 'RESULTS_UNREADABLE' });
    await expect(loadResults(join(dir.path, 'missing.json'))).rejects.toMatchObject({
      code: 'RESULTS_UNREADABLE',
      message: expect.stringContaining('ENOENT'),
    });
  });
});
