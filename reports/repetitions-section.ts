import type { Interval, Latency, Variant } from '../harness/results/index.ts';
import { formatUs, totalCpuUs } from './cost-section.ts';
import { escapeHtml, formatCount, formatInterval, formatMs } from './format.ts';
import { type Run, seriesName, td } from './report-parts.ts';

/** A median over repetitions for a chart: the bar, its whisker, each repetition's dot, its words. */
export interface IntervalPoint {
  estimate: number;
  lo: number;
  hi: number;
  n: number;
  /** Each repetition's own figure, in run order. */
  reps: number[];
  /** As the tables print it: `0.512 ms (0.498–0.530, n=5)`. */
  text: string;
}

export function intervalPoint(
  interval: Interval,
  reps: readonly number[],
  kind: 'ms' | 'percent' = 'ms',
): IntervalPoint {
  // Percent charts read in %, as the tables do.
  const k = kind === 'ms' ? 1 : 100;
  return {
    estimate: interval.estimate * k,
    lo: interval.lo * k,
    hi: interval.hi * k,
    n: interval.n,
    reps: reps.map((v) => v * k),
    text: formatInterval(interval, kind),
  };
}

/** The intervals chart: p50 and p99 per variant (the categories), one bar series per run and measure. */
export interface IntervalChart {
  categories: string[];
  series: {
    label: string;
    run: number;
    measure: 'p50' | 'p99';
    values: (IntervalPoint | null)[];
  }[];
}

export function intervalChartData(runs: readonly Run[]): IntervalChart {
  const overlaid = runs.length > 1;
  const categories = [...new Set(runs.flatMap((run) => run.results.variants.map((v) => v.name)))];
  const series: IntervalChart['series'] = [];
  runs.forEach((run, r) => {
    for (const measure of ['p50', 'p99'] as const) {
      const key = measure === 'p50' ? 'p50Ms' : 'p99Ms';
      const values = categories.map((name) => {
        const v = run.results.variants.find((variant) => variant.name === name);
        if (v === undefined || v.intervals[key].n === 0) return null;
        return intervalPoint(
          v.intervals[key],
          v.repetitions.map((rep) => rep.latencyMs[measure]),
        );
      });
      series.push({
        label: overlaid
          ? `${run.label} · ${measure}`
          : run.results.repetitions > 1
            ? `${measure}, median of runs`
            : `${measure} (1 run)`,
        run: r,
        measure,
        values,
      });
    }
  });
  return { categories, series };
}

const lagCells = (lag: Latency | null) =>
  lag === null
    ? '<td class="empty" colspan="2">not measured</td>'
    : `${td(formatMs(lag.p50), 'num')}${td(formatMs(lag.p99), 'num')}`;

/**
 * Per variant: the medians over repetitions with their 95 % intervals, and beside them how late
 * the publishers sent (the harness's own error, which a delay figure includes).
 */
export function repeatabilityTable(runs: readonly Run[]): string {
  const overlaid = runs.length > 1;
  const rows = runs.flatMap((run) =>
    run.results.variants.map(
      (v) =>
        `<tr>${td(seriesName(run, v.name, overlaid))}${td(String(v.repetitions.length), 'num')}${td(
          formatInterval(v.intervals.p50Ms),
          'num',
        )}${td(formatInterval(v.intervals.p99Ms), 'num')}${lagCells(v.publisherLagMs)}</tr>`,
    ),
  );
  return `<table id="repeatability">
  <thead><tr><th>Variant</th><th class="num">runs</th><th class="num">p50, median of runs (95 % interval)</th><th class="num">p99, median of runs (95 % interval)</th><th class="num">publisher lag p50 ms</th><th class="num">publisher lag p99 ms</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table>
<p class="note">Each repetition ran on a fresh topology; the interval is a 95 % bootstrap interval of the median over them. One run gives no interval: its noise is unknown. Publisher lag: how late the open-loop publishers sent against their schedule, merged over the runs; it is part of every delay above.</p>`;
}

/** `2026-11-25T10:04:00.000Z` → `10:04:00`: repetitions of a run share a day; the title has it all. */
const clock = (iso: string) => iso.slice(11, 19);

function repetitionRows(v: Variant): string {
  return v.repetitions
    .map((rep) => {
      const l = rep.latencyMs;
      const delays = [l.p50, l.p90, l.p99, l.max].map((ms) =>
        td(rep.received === 0 ? '—' : formatMs(ms), 'num'),
      );
      const counts = [rep.sent, rep.received, rep.lost, rep.duplicates, rep.reordered].map((n) =>
        td(formatCount(n), 'num'),
      );
      const cpu =
        Object.keys(rep.cost.cpuUsPerMessage).length === 0 ? '—' : formatUs(totalCpuUs(rep.cost));
      const link = rep.cost.linkBytesPerMessage;
      return `<tr>${td(String(rep.index + 1), 'num')}<td title="${escapeHtml(rep.startedAt)}">${escapeHtml(clock(rep.startedAt))}</td>${delays.join('')}${counts.join('')}${td(
        rep.publisherLagMs === null ? 'not measured' : formatMs(rep.publisherLagMs.p99),
        'num',
      )}${td(cpu, 'num')}${td(link === null ? '—' : link.toFixed(1), 'num')}</tr>`;
    })
    .join('\n');
}

/** Per variant, a collapsed table of every repetition's own figures. */
export function repetitionDetails(runs: readonly Run[]): string {
  const overlaid = runs.length > 1;
  let k = 0;
  const parts = runs.flatMap((run) =>
    run.results.variants.map((v) => {
      const id = `repetitions-${k++}`;
      const n = v.repetitions.length;
      return `<details class="repetitions" id="${id}"><summary>Per repetition: ${escapeHtml(
        seriesName(run, v.name, overlaid),
      )} (${n} ${n === 1 ? 'run' : 'runs'})</summary>
<div class="scroll"><table class="repetitions-table compact">
  <thead><tr><th class="num">#</th><th>started (UTC)</th><th class="num">p50 ms</th><th class="num">p90 ms</th><th class="num">p99 ms</th><th class="num">max ms</th><th class="num">sent</th><th class="num">received</th><th class="num">lost</th><th class="num">duplicates</th><th class="num">reordered</th><th class="num">pub. lag p99 ms</th><th class="num">CPU µs / msg</th><th class="num">link B / msg</th></tr></thead>
  <tbody>${repetitionRows(v)}</tbody>
</table></div></details>`;
    }),
  );
  return `<div class="repetition-list">${parts.join('\n')}</div>`;
}
