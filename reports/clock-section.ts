import type { ClientHostClockRecord, Results } from '../harness/results/index.ts';
import { escapeHtml } from './format.ts';
import { type Run, seriesName } from './report-parts.ts';

/**
 * "Clocks of the client hosts": where clients ran on client hosts of their own, each host's clock
 * against the harness's in each repetition, read at the start (what it was corrected by) and at
 * the end, and the drift between (docs/results.md, "Clocks across hosts"). [design] A drift the
 * two readings' bounds do not explain is shown in red and above the table, as the delays of
 * messages between that host and others carry it.
 */

const ms = (value: number | null) => (value === null ? '—' : value.toFixed(3));
const plusMinus = (value: number | null, bound: number | null) =>
  value === null || bound === null ? '—' : `${ms(value)} ± ${ms(bound)}`;

function rowHtml(name: string, repetition: number, clock: ClientHostClockRecord): string {
  const cells = [
    [escapeHtml(name), ''],
    [String(repetition + 1), 'num'],
    [escapeHtml(clock.host), ''],
    [plusMinus(clock.offsetMs, clock.errorBoundMs), 'num'],
    [ms(clock.roundTripMs), 'num'],
    [plusMinus(clock.endOffsetMs, clock.endErrorBoundMs), 'num'],
    [ms(clock.driftMs), clock.drifted ? 'num bad' : 'num'],
    [clock.drifted ? 'drifted' : clock.driftMs === null ? 'not read again' : 'within bounds', ''],
  ];
  return `<tr${clock.drifted ? ' class="drifted"' : ''}>${cells
    .map(
      ([text, className]) => `<td${className === '' ? '' : ` class="${className}"`}>${text}</td>`,
    )
    .join('')}</tr>`;
}

const HEAD = `<thead><tr><th>Variant</th><th class="num">Repetition</th><th>Client host</th><th class="num">offset at start (ms)</th><th class="num">round trip (ms)</th><th class="num">offset at end (ms)</th><th class="num">drift (ms)</th><th>drift</th></tr></thead>`;

export function clockSection(runs: readonly Run[]): string {
  const overlaid = runs.length > 1;
  const rows: string[] = [];
  const drifted: string[] = [];
  for (const run of runs) {
    for (const variant of run.results.variants) {
      const name = seriesName(run, variant.name, overlaid);
      for (const repetition of variant.repetitions) {
        for (const clock of repetition.clocks ?? []) {
          rows.push(rowHtml(name, repetition.index, clock));
          if (clock.drifted) {
            drifted.push(
              `${name}, repetition ${repetition.index + 1}: ${clock.host} drifted ${ms(clock.driftMs)} ms`,
            );
          }
        }
      }
    }
  }
  if (rows.length === 0) return '';
  const warning =
    drifted.length === 0
      ? ''
      : `<div class="banner warning" id="clock-warning" role="alert"><strong>A client host's clock drifted during a run</strong> by more than its readings explain; delays between its clients and other hosts' may be off by up to that drift.<ul>${drifted
          .map((line) => `<li>${escapeHtml(line)}</li>`)
          .join('')}</ul></div>`;
  return `<section id="clock-section">
  <h2>Clocks of the client hosts</h2>
  ${warning}
  <div class="scroll"><table id="clocks" class="compact">
  ${HEAD}
  <tbody>${rows.join('\n')}</tbody>
</table></div>
  <p class="note">Each client host's clock minus the harness's, read over request/reply exchanges: the one with the shortest round trip sets the offset, which is good to ± half that round trip. The host read the run's clock corrected by the offset at the start; the offset read again at the end, before the host was released, gives the drift. A drift larger than the two bounds together is flagged; delays are not corrected for it.</p>
</section>`;
}

/** One line for the terminal where client hosts ran, or '' where none did. */
export function clockSummaryText(results: Results): string {
  const clocks = results.variants.flatMap((variant) =>
    variant.repetitions.flatMap((repetition) => repetition.clocks ?? []),
  );
  if (clocks.length === 0) return '';
  const hosts = new Set(clocks.map((clock) => clock.host)).size;
  const worstBound = Math.max(
    ...clocks.flatMap((clock) => [clock.errorBoundMs, clock.endErrorBoundMs ?? 0]),
  );
  const drifted = clocks.filter((clock) => clock.drifted);
  const worstDrift = Math.max(...drifted.map((clock) => Math.abs(clock.driftMs ?? 0)), 0);
  return (
    `clocks: ${hosts} client host${hosts === 1 ? '' : 's'}, offsets read to ± ${ms(worstBound)} ms at worst; ` +
    (drifted.length === 0
      ? 'no drift beyond the bounds\n'
      : `WARNING: ${drifted.length} reading${drifted.length === 1 ? '' : 's'} drifted, up to ${ms(worstDrift)} ms\n`)
  );
}
