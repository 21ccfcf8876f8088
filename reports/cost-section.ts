import type { Cost } from '../harness/results/index.ts';
import { escapeHtml, formatCount } from './format.ts';
import { chartCard, type Run, seriesName, td } from './report-parts.ts';

/** The cost chart: CPU µs per delivered message, one group of bars per service. */
export interface CostChart {
  categories: string[];
  /** One per variant that measured CPU; `run` and `index` pick its colour. */
  series: { label: string; run: number; index: number; values: (number | null)[] }[];
}

const measured = (cost: Cost) => Object.keys(cost.cpuUsPerMessage).length > 0;

/** CPU µs of all services per delivered message. */
export const totalCpuUs = (cost: Cost) =>
  Object.values(cost.cpuUsPerMessage).reduce((sum, us) => sum + us, 0);

/** µs per message: `12.3`, `0.84`. */
export const formatUs = (us: number) => (us >= 100 ? us.toFixed(0) : us.toFixed(us >= 10 ? 1 : 2));

function servicesOf(runs: readonly Run[]): string[] {
  const names = new Set<string>();
  for (const run of runs) {
    for (const v of run.results.variants) {
      for (const name of Object.keys(v.cost.cpuUsPerMessage)) names.add(name);
    }
  }
  return [...names];
}

export function costChartData(runs: readonly Run[]): CostChart {
  const overlaid = runs.length > 1;
  const categories = servicesOf(runs);
  const series: CostChart['series'] = [];
  runs.forEach((run, r) => {
    run.results.variants.forEach((v, index) => {
      if (!measured(v.cost)) return;
      series.push({
        label: seriesName(run, v.name, overlaid),
        run: r,
        index,
        values: categories.map((name) => v.cost.cpuUsPerMessage[name] ?? null),
      });
    });
  });
  return { categories, series };
}

/**
 * "Cost": what each variant cost per delivered message, CPU per service and bytes on peer links.
 * [design] Run-to-run noise moves these far less than delay, so they show a change that delay
 * figures on a shared machine would hide.
 */
export function costSection(runs: readonly Run[], datasets: number): string {
  const overlaid = runs.length > 1;
  const services = servicesOf(runs);
  const rows = runs.flatMap((run) =>
    run.results.variants.map((v) => {
      const cpu = measured(v.cost)
        ? [
            ...services.map((name) => {
              const us = v.cost.cpuUsPerMessage[name];
              return td(us === undefined ? '—' : formatUs(us), 'num');
            }),
            td(formatUs(totalCpuUs(v.cost)), 'num total'),
          ].join('')
        : `<td class="empty" colspan="${services.length + 1}">not measured</td>`;
      const link = v.cost.linkBytesPerMessage;
      return `<tr>${td(seriesName(run, v.name, overlaid))}${td(formatCount(v.cost.delivered), 'num')}${cpu}${td(
        link === null ? '—' : link.toFixed(1),
        'num',
      )}</tr>`;
    }),
  );
  const head = services.map((name) => `<th class="num">${escapeHtml(name)}</th>`).join('');
  return `<section id="cost">
  <h2>Cost per delivered message</h2>
  <table id="cost-table" class="compact">
  <thead><tr><th>Variant</th><th class="num">delivered</th>${head}<th class="num">CPU total</th><th class="num">link bytes</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
  </table>
  <p class="note">CPU: µs of CPU time each service used per message delivered to subscribers (after warm-up), over all repetitions. Link bytes: bytes that crossed peer links per delivered message; — where the topology cannot read them or none crossed.</p>
  <div class="grid single">${chartCard(
    'chart-cost',
    'CPU per delivered message',
    'µs of CPU time per delivered message, per service; one bar per variant.',
    'Not measured: these results carry no CPU cost.',
    datasets,
  )}</div>
</section>`;
}
