import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Results } from '../harness/results/index.ts';
import { tempDir } from '../system/common/testing.ts';
import { syntheticResults, v1Document } from './fixtures.ts';
import { parseResults } from './load-results.ts';
import {
  buildChartData,
  CHART_IDS,
  type ChartId,
  expectedDatasets,
  renderReportHtml,
} from './report-html.ts';

/**
 * Debian's chromium (apt-get install chromium); tools that download their own browser fail here.
 * MQFED_CHROMIUM points at another Chromium build.
 */
const CHROMIUM = process.env.MQFED_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.MQFED_REQUIRE_CHROMIUM === '1') {
    throw new Error(`${CHROMIUM} is required here (MQFED_REQUIRE_CHROMIUM=1) but missing`);
  }
  console.warn(`SKIPPED: report in a real browser: no ${CHROMIUM} (apt-get install chromium)`);
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/**
 * Runs in the page (passed as source text, so no bundler rewrites it): for each chart canvas,
 * whether Chart.js owns it, how many datasets it drew and how many pixels it painted.
 */
const inspectCharts = `(ids) => ids.map((id) => {
  const canvas = document.getElementById(id);
  if (canvas === null) return { id, found: false, datasets: -1, painted: 0 };
  const chart = globalThis.Chart.getChart(canvas);
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  return { id, found: true, datasets: chart === undefined ? -1 : chart.data.datasets.length, painted };
})`;

/** Runs in the page: each dataset's line colour and dash, per chart, to tell series apart. */
const inspectStyles = `(ids) => Object.fromEntries(ids.map((id) => {
  const canvas = document.getElementById(id);
  const chart = canvas === null ? undefined : globalThis.Chart.getChart(canvas);
  return [id, chart === undefined ? [] : chart.data.datasets.map((d) => ({
    label: d.label,
    color: String(d.borderColor),
    dash: JSON.stringify(d.borderDash ?? []),
  }))];
}))`;

const noisy = (results: Results): Results => ({
  ...results,
  noise: {
    ...results.noise!,
    loadAverageMax: 3.4,
    warnings: ['load average reached 3.4 on 2 CPUs', 'other processes used 41 % of all CPUs'],
  },
});

/**
 * Five repetitions on a busy machine (intervals, error bars, the noise banner), faults with a
 * delivery table, three runs overlaid, and an old v1 document (nothing of floor, noise, lag or cost measured).
 */
const CASES: { name: string; runs: unknown[]; screenshot: string }[] = [
  {
    name: 'a run of five repetitions on a busy machine',
    runs: [noisy(syntheticResults({ repetitions: 5, samples: 5_000 }))],
    screenshot: 'mqfed-report-browser-test.png',
  },
  {
    name: 'a run with faults and its delivery table',
    runs: [syntheticResults({ faults: true, delivery: true, repetitions: 3, samples: 5_000 })],
    screenshot: 'mqfed-report-browser-test-faults.png',
  },
  {
    name: 'a run with mobile clients and their handover figures',
    runs: [syntheticResults({ handovers: true, repetitions: 2, samples: 5_000 })],
    screenshot: 'mqfed-report-browser-test-handovers.png',
  },
  {
    name: 'three runs overlaid',
    runs: [1, 2, 3].map((seed) =>
      syntheticResults({
        seed,
        scale: 1 + 0.1 * seed,
        repetitions: 5,
        samples: 2_000,
        gitCommit: String(seed).repeat(40),
      }),
    ),
    screenshot: 'mqfed-report-browser-test-overlaid.png',
  },
  {
    name: 'a v1 document',
    runs: [v1Document(syntheticResults({ samples: 5_000 }))],
    screenshot: 'mqfed-report-browser-test-v1.png',
  },
];

describe.skipIf(!haveChromium)('the report in a real browser', () => {
  // Chromium starts in about a second here; the margin is for a loaded CI machine.
  it.each(CASES)(
    'of $name opens offline, draws every chart and logs no errors',
    {
      timeout: 60_000,
    },
    async ({ runs, screenshot: screenshotName }) => {
      await using dir = await tempDir('mqfed-report-browser-');
      const file = join(dir.path, 'report.html');
      await writeFile(file, renderReportHtml(runs as Results[]));
      const parsed = runs.map((run) => parseResults(run));
      const expected = expectedDatasets(
        buildChartData(parsed.map((results, i) => ({ label: `run ${i + 1}`, results }))),
      );

      const context = await chromium.launchPersistentContext(join(dir.path, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        viewport: { width: 1280, height: 900 },
        offline: true,
      });
      try {
        const page = await context.newPage();
        const attempted: string[] = [];
        const problems: string[] = [];
        // Nothing may leave the file: any request but the page itself is recorded and aborted.
        await context.route('**/*', async (route) => {
          const url = route.request().url();
          if (url === pathToFileURL(file).href) return route.continue();
          attempted.push(url);
          return route.abort();
        });
        page.on('request', (request) => {
          if (!request.url().startsWith('file:')) attempted.push(request.url());
        });
        // The page has nothing to say on the console: any message at all is a problem.
        page.on('console', (message) => {
          problems.push(`console.${message.type()}: ${message.text()}`);
        });
        page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));

        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
        const charts = (await page.evaluate(
          `(${inspectCharts})(${JSON.stringify(CHART_IDS)})`,
        )) as {
          id: string;
          found: boolean;
          datasets: number;
          painted: number;
        }[];

        expect(problems).toEqual([]);
        expect(attempted).toEqual([]);
        for (const chart of charts) {
          const datasets = expected[chart.id as ChartId];
          // A chart with nothing to draw is a sentence instead (a v1 document has no cost).
          if (datasets === 0) {
            expect(chart.found, `${chart.id} is absent`).toBe(false);
            continue;
          }
          expect(chart, chart.id).toMatchObject({ found: true, datasets });
          expect(chart.painted, `${chart.id} painted pixels`).toBeGreaterThan(1000);
        }
        const first = parsed[0]!;
        expect(await page.title()).toBe(`mqfed report — ${first.scenario}`);
        const outages = parsed.flatMap((r) => r.variants).filter((v) => (v.outages ?? []).length);
        expect(await page.locator('section#faults table.outages').count()).toBe(outages.length);
        // The delivery table: one row per variant and QoS, shown where the run kept them.
        const accounted = parsed
          .flatMap((r) => r.variants)
          .reduce((n, v) => n + (v.delivery?.length ?? 0), 0);
        expect(await page.locator('table#delivery > tbody > tr').count()).toBe(accounted);
        if (accounted > 0) {
          expect(await page.locator('table#delivery').isVisible()).toBe(true);
          expect(await page.locator('table#delivery td.bad').count()).toBeGreaterThan(0);
        }
        // The handover table: one row per variant that kept handover figures.
        const moved = parsed.flatMap((r) => r.variants).filter((v) => v.handoverStats).length;
        expect(await page.locator('table#handover-figures > tbody > tr').count()).toBe(moved);
        if (moved > 0) {
          expect(await page.locator('table#handover-figures').isVisible()).toBe(true);
        }
        const warned = parsed.some((r) => (r.noise?.warnings.length ?? 0) > 0);
        expect(await page.locator('#noise-warning').isVisible()).toBe(warned);

        const styles = (await page.evaluate(
          `(${inspectStyles})(${JSON.stringify(CHART_IDS)})`,
        )) as Record<ChartId, { label: string; color: string; dash: string }[]>;
        // Every variant's curve has a colour of its own, across overlaid runs too.
        const curves = styles['chart-percentiles'].map((d) => d.color);
        expect(new Set(curves).size, 'distinct curve colours').toBe(curves.length);
        // Sent and received of a variant differ in colour and dash.
        const flows = styles['chart-throughput'];
        for (let i = 0; i < flows.length; i += 2) {
          const [sent, received] = [flows[i]!, flows[i + 1]!];
          expect(sent.label).toMatch(/ sent$/);
          expect(received.label).toMatch(/ received$/);
          expect(received.color).not.toBe(sent.color);
          expect(received.dash).not.toBe(sent.dash);
        }

        const screenshot = join(tmpdir(), screenshotName);
        await page.screenshot({ path: screenshot, fullPage: true });
        const png = await readFile(screenshot);
        expect(png.length).toBeGreaterThan(10_000);
        expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
        console.log(`report screenshot: ${screenshot}`);
      } finally {
        await context.close();
      }
    },
  );
});
