import type { DeliveryAccount, Results } from '../harness/results/index.ts';
import { escapeHtml, formatCount } from './format.ts';
import { type Run, seriesName } from './report-parts.ts';

/**
 * "Delivery": per variant and QoS of delivery, what was sent, acknowledged, owed, delivered,
 * lost and duplicated (docs/results.md states the rules), summed over the repetitions, with each
 * repetition's own rows below. [design] Absent for documents made before the accounting was
 * kept, so an old run reads as before rather than as one that lost nothing.
 */

/** The columns, as the table and the terminal name them. */
const COLUMNS = [
  'sent',
  'acknowledged',
  'expected',
  'delivered',
  'lost',
  'duplicated',
  'delivered unacked',
] as const;

/** A row's figures in column order; QoS 0 has no acknowledgement: a dash, not 0. */
function figures(row: DeliveryAccount): string[] {
  return [
    formatCount(row.sent),
    row.acknowledged === null ? '—' : formatCount(row.acknowledged),
    formatCount(row.expected),
    formatCount(row.delivered),
    formatCount(row.lost),
    formatCount(row.duplicated),
    formatCount(row.deliveredUnacknowledged),
  ];
}

function rowHtml(first: string, row: DeliveryAccount, className: string): string {
  const cells = figures(row).map((text, i) => {
    const bad = (i === 4 && row.lost > 0) || (i === 5 && row.duplicated > 0);
    return `<td class="num${bad ? ' bad' : ''}">${escapeHtml(text)}</td>`;
  });
  return `<tr class="${className}" data-qos="${row.qos}"><td>${escapeHtml(first)}</td><td class="num">${row.qos}</td>${cells.join('')}</tr>`;
}

const HEAD = `<thead><tr><th>Variant</th><th class="num">QoS</th>${COLUMNS.map(
  (c) => `<th class="num">${c}</th>`,
).join('')}</tr></thead>`;

export function deliverySection(runs: readonly Run[]): string {
  const overlaid = runs.length > 1;
  const rows: string[] = [];
  const details: string[] = [];
  for (const run of runs) {
    for (const variant of run.results.variants) {
      if (variant.delivery === undefined) continue;
      const name = seriesName(run, variant.name, overlaid);
      for (const row of variant.delivery) rows.push(rowHtml(name, row, 'variant'));
      const reps = variant.repetitions.filter((rep) => rep.delivery !== undefined);
      if (reps.length < 2) continue;
      const body = reps.flatMap((rep) =>
        rep.delivery!.map((row) => rowHtml(`repetition ${rep.index + 1}`, row, 'repetition')),
      );
      details.push(`<details class="repetitions delivery-repetitions"><summary>Per repetition: delivery of ${escapeHtml(
        name,
      )} (${reps.length} runs)</summary>
<div class="scroll"><table class="repetitions-table compact">
  ${HEAD.replace('<th>Variant</th>', '<th>Repetition</th>')}
  <tbody>${body.join('\n')}</tbody>
</table></div></details>`);
    }
  }
  if (rows.length === 0) return '';
  return `<section id="delivery-section">
  <h2>Delivery: sent, acknowledged, delivered, lost, duplicated</h2>
  <table id="delivery">
  ${HEAD}
  <tbody>${rows.join('\n')}</tbody>
</table>
  ${details.join('\n  ')}
  <p class="note">After the warm-up, summed over the repetitions; one row per QoS of delivery (the lower of publisher's and subscriber's). Sent: publishes handed to their MQTT client. Acknowledged: of those, PUBACKed by the broker (QoS 1 only). Expected: deliveries owed, for every subscriber whose filters match, each message sent (QoS 0) or acknowledged (QoS 1). Delivered + lost = expected: received at least once by the end of the drain, or never. Duplicated: a message received again by the same subscriber. Delivered unacked: QoS 1 messages received whose PUBACK never came (not owed, not lost).</p>
</section>`;
}

/**
 * The same table for the terminal, one line per variant and QoS: what `mqfed run` prints after
 * its delay figures. Empty for a document without accounting.
 */
export function deliveryTableText(results: Results): string {
  const rows: string[][] = [];
  for (const variant of results.variants) {
    for (const row of variant.delivery ?? []) {
      rows.push([variant.name, String(row.qos), ...figures(row)]);
    }
  }
  if (rows.length === 0) return '';
  const header = ['delivery', 'qos', ...COLUMNS];
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]!.length)),
  );
  const line = (cells: readonly string[]) =>
    `  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`;
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
