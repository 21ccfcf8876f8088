import type { Results } from '../harness/results/index.ts';
import { escapeHtml } from './format.ts';

/**
 * What the report's sections share: the runs they show, how series are named, and the chart
 * card every section draws its chart in. [design] A unit of its own so section files need not
 * import the page that imports them.
 */

/** The ids of the report's chart canvases, in page order. */
export const CHART_IDS = [
  'chart-overhead',
  'chart-intervals',
  'chart-percentiles',
  'chart-cdf',
  'chart-delay',
  'chart-throughput',
  'chart-cost',
  'chart-handover',
  'chart-cpu',
  'chart-memory',
] as const;
export type ChartId = (typeof CHART_IDS)[number];

/** One results document as the page shows it. */
export interface Run {
  label: string;
  results: Results;
  source?: string;
}

/** Series names: the variant alone for one run, `run · variant` when runs are overlaid. */
export function seriesName(run: Run, name: string, overlaid: boolean): string {
  return overlaid ? `${run.label} · ${name}` : name;
}

/** Charts grow with their legends, so many overlaid series still leave room for the plot. */
export function chartHeight(datasets: number): number {
  // Long overlaid names take a legend row each (about 22 px), and the plot keeps its height.
  return Math.max(300, 250 + 26 * datasets);
}

/**
 * A chart's card: its canvas, or `empty` in words when it has nothing to draw. `datasets` is
 * what the page's script will draw, kept on the canvas for tests.
 */
export function chartCard(
  id: ChartId,
  heading: string,
  caption: string,
  empty: string,
  datasets: number,
  className = '',
): string {
  return `
<figure class="chart-card${className === '' ? '' : ` ${className}`}">
  <h3>${escapeHtml(heading)}</h3>
  ${
    datasets > 0
      ? `<div class="chart" style="height: ${chartHeight(datasets)}px"><canvas id="${id}" role="img" aria-label="${escapeHtml(heading)}" data-datasets="${datasets}"></canvas></div>`
      : `<p class="empty">${escapeHtml(empty)}</p>`
  }
  <figcaption>${escapeHtml(caption)}</figcaption>
</figure>`;
}

/** A table cell: right-aligned figures get `num`. */
export function td(text: string, className = ''): string {
  return `<td${className === '' ? '' : ` class="${className}"`}>${escapeHtml(text)}</td>`;
}
