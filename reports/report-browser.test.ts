import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../system/common/testing.ts';
import { syntheticResults } from './fixtures.ts';
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

/** The plain fixture, and one with faults: their markers and labels draw on the delay chart. */
const CASES = [
  { name: 'a run', results: syntheticResults(), screenshot: 'mqfed-report-browser-test.png' },
  {
    name: 'a run with faults',
    results: syntheticResults({ faults: true }),
    screenshot: 'mqfed-report-browser-test-faults.png',
  },
];

describe.skipIf(!haveChromium)('the report in a real browser', () => {
  // Chromium starts in about a second here; the margin is for a loaded CI machine.
  it.each(CASES)(
    'of $name opens offline, draws every chart and logs no errors',
    {
      timeout: 60_000,
    },
    async ({ results, screenshot: screenshotName }) => {
      await using dir = await tempDir('mqfed-report-browser-');
      const file = join(dir.path, 'report.html');
      await writeFile(file, renderReportHtml(results));
      const expected = expectedDatasets(buildChartData([{ label: 'run', results }]));

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
        page.on('console', (message) => {
          if (message.type() === 'error' || message.type() === 'warning') {
            problems.push(`console.${message.type()}: ${message.text()}`);
          }
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
          expect(chart, chart.id).toMatchObject({
            found: true,
            datasets: expected[chart.id as ChartId],
          });
          expect(chart.painted, `${chart.id} painted pixels`).toBeGreaterThan(1000);
        }
        expect(await page.title()).toBe(`mqfed report — ${results.scenario}`);
        const outages = results.variants.some((v) => (v.outages ?? []).length > 0);
        expect(await page.locator('section#faults table.outages').count()).toBe(outages ? 1 : 0);

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
