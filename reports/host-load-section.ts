import {
  type HostLoad,
  type HostLoadRow,
  hostLoadOf,
  type Results,
} from '../harness/results/index.ts';
import { formatBytes, formatCount } from './format.ts';
import { type Run, td } from './report-parts.ts';

/**
 * "Load per host": each client host's, broker's and the harness's CPU while the run was measured
 * and its peak memory, and both per 1,000 of the clients it carried: what sizing a crowd over
 * several machines needs (docs/results.md, "Load per host"). [design] Derived from the service
 * samples where a document predates the `hostLoad` field, so older results show it too; shown
 * only where a client host ran or the run had at least 1,000 clients, where the figures matter.
 */

const ROLE_LABEL: Record<HostLoadRow['role'], string> = {
  'client-host': 'client host',
  harness: 'harness',
  broker: 'broker',
};

/** The table of a results document: its own, else derived from its samples. */
export function hostLoadOfResults(results: Results): HostLoad | undefined {
  return results.hostLoad ?? hostLoadOf(results);
}

function worthShowing(load: HostLoad | undefined): load is HostLoad {
  return (
    load !== undefined &&
    load.rows.length > 0 &&
    (load.clients >= 1_000 || load.rows.some((row) => row.role === 'client-host'))
  );
}

const percent = (value: number) => value.toFixed(value >= 10 ? 0 : 1);

/** One row; `td` escapes every cell. */
function rowHtml(run: string, row: HostLoadRow): string {
  const per = row.perThousandClients;
  const clients =
    row.clientsHere === undefined
      ? formatCount(row.clients)
      : `${formatCount(row.clients)} (${formatCount(row.clientsHere)} here)`;
  return `<tr>${[
    td(run),
    td(row.service),
    td(ROLE_LABEL[row.role]),
    td(clients, 'num'),
    td(percent(row.cpuPercent), 'num'),
    td(percent(row.cpuPercentMax), 'num'),
    td(formatBytes(row.rssBytes), 'num'),
    td(per === null ? '—' : percent(per.cpuPercent), 'num'),
    td(per === null ? '—' : formatBytes(per.rssBytes), 'num'),
  ].join('')}</tr>`;
}

export function hostLoadSection(runs: readonly Run[]): string {
  const rows = runs.flatMap((run) => {
    const load = hostLoadOfResults(run.results);
    if (!worthShowing(load)) return [];
    const name = runs.length > 1 ? run.label : run.results.scenario;
    return load.rows.map((row) => rowHtml(name, row));
  });
  if (rows.length === 0) return '';
  return `<section id="host-load">
  <h2>Load per host</h2>
  <div class="scroll"><table id="host-load-table" class="compact">
  <thead><tr><th>Run</th><th>Service</th><th>Role</th><th class="num">clients</th><th class="num">CPU %</th><th class="num">CPU % max</th><th class="num">peak memory</th><th class="num">CPU % per 1,000 clients</th><th class="num">memory per 1,000 clients</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
  </table></div>
  <p class="note">CPU: % of one core, the mean (and highest) of one-second samples while the run was measured (warm-up to end of schedule, every repetition). Memory: the highest resident set of the whole run, connecting the crowd included. Clients: those on a client host; those the scenario placed on a broker; for the harness every client of the run, which it drives and counts wherever they run (“here”: those in its own process). Per 1,000 clients: the figure divided by clients / 1,000, fixed costs (a process’s own ~100–200 MB) included.</p>
</section>`;
}

/** Lines for the terminal: each client host's and the harness's load, or '' where not shown. */
export function hostLoadText(results: Results): string {
  const load = hostLoadOfResults(results);
  if (!worthShowing(load)) return '';
  const lines = load.rows
    .filter((row) => row.role !== 'broker')
    .map((row) => {
      const per = row.perThousandClients;
      return (
        `  ${row.service.padEnd(24)} ${formatCount(row.clients).padStart(7)} clients  ` +
        `CPU ${percent(row.cpuPercent).padStart(4)} %  peak ${formatBytes(row.rssBytes).padStart(8)}` +
        (per === null
          ? ''
          : `  per 1,000: CPU ${percent(per.cpuPercent)} %, ${formatBytes(per.rssBytes)}`)
      );
    });
  return `load per host (CPU % of one core while measured, peak memory):\n${lines.join('\n')}\n`;
}
