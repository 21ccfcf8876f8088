import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Results } from '../harness/index.ts';
import { tempDir } from '../system/common/testing.ts';
import { main } from './cli.ts';
import { FIXTURE_FAULTS, syntheticResults } from './fixtures.ts';
import { formatMs } from './format.ts';
import { cdfCurve, decodeHistogram, percentileCurve } from './histogram-curves.ts';
import { loadResults, parseResults } from './load-results.ts';
import { overheadVerdict } from './overhead-verdict.ts';
import { ReportError } from './report-error.ts';
import {
  buildChartData,
  chartJsSource,
  compactJson,
  expectedDatasets,
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

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
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
      comparison: {
        sameBrokerP50Ms: 1.25,
        crossBrokerP50Ms: 1.775,
        overheadP50: 0.42,
        overheadP99: 0.615,
      },
      paper: { overhead: 0.5, note: 'about 50 % [paper]' },
    });
    const table = section(page, 'overhead');
    expect(table).toContain('1.25');
    expect(table).toContain('1.77'); // 1.775 at two decimals
    expect(table).toContain('42.0 %');
    expect(table).toContain('61.5 %');
    expect(table.match(/50\.0 %/g)).toHaveLength(2); // the paper's, on both rows
    expect(table).toContain('class="verdict-close"');
    expect(table).toContain('class="verdict-higher"');
    expect(table).toContain('About the same as the paper');
    expect(table).toContain('Higher than the paper (+11.5 pts)');
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

  it('has one canvas per chart with the datasets the page will draw', () => {
    const counts = expectedDatasets(buildChartData([{ label: 'x', results: fixture }]));
    expect(counts).toEqual({
      'chart-percentiles': 2,
      'chart-cdf': 2,
      'chart-delay': 5, // p50 and p99 per variant, handovers of the mobile one
      'chart-throughput': 4,
      'chart-cpu': 4,
      'chart-memory': 4,
    });
    for (const [id, n] of Object.entries(counts)) {
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
    expect(data.percentiles).toEqual([{ label: 'same-broker qos0', points: [] }]);
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

describe('the report command', () => {
  it('writes report.html next to the results by default and prints its path', async () => {
    await using dir = await tempDir('mqfed-reports-');
    const file = join(dir.path, 'results.json');
    await writeFile(file, JSON.stringify(fixture));
    const cap = captureIo();
    expect(await main(['report', file], cap.io)).toBe(0);
    expect(cap.out()).toBe(`${join(dir.path, 'report.html')}\n`);
    const page = await readFile(join(dir.path, 'report.html'), 'utf8');
    expect(page).toContain('<canvas id="chart-percentiles"');
  });

  it('writes where -o says', async () => {
    await using dir = await tempDir('mqfed-reports-');
    const file = join(dir.path, 'results.json');
    await writeFile(file, JSON.stringify(fixture));
    const out = join(dir.path, 'deep', 'r.html');
    expect(await main(['report', file, '-o', out], captureIo().io)).toBe(0);
    expect((await readFile(out, 'utf8')).startsWith('<!doctype html>')).toBe(true);
  });

  it('exits 1 with one line naming the field for a broken file', async () => {
    await using dir = await tempDir('mqfed-reports-');
    const file = join(dir.path, 'results.json');
    await writeFile(file, JSON.stringify({ ...fixture, seed: 'x' }));
    const cap = captureIo();
    expect(await main(['report', file], cap.io)).toBe(1);
    expect(cap.err()).toMatch(/^mqfed-report: RESULTS_INVALID: .*results\.json: seed: .*\n$/);
    expect(cap.err().trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 2 with one line for an unknown flag or a missing argument, 0 for --help', async () => {
    const bogus = captureIo();
    expect(await main(['report', 'r.json', '--bogus'], bogus.io)).toBe(2);
    expect(bogus.err()).toBe("mqfed-report: unknown option '--bogus' (see --help)\n");
    const missing = captureIo();
    expect(await main(['report'], missing.io)).toBe(2);
    expect(missing.err()).toContain('missing required argument');
    const help = captureIo();
    expect(await main(['report', '--help'], help.io)).toBe(0);
    expect(help.out()).toContain('Usage: mqfed-report report');
    expect(await main(['--help'], captureIo().io)).toBe(0);
  });
});
