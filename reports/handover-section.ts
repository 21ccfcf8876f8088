import type { HandoverStats, Results } from '../harness/results/index.ts';
import { escapeHtml, formatCount, formatMs } from './format.ts';
import { cdfCurve, decodeHistogram, type Point } from './histogram-curves.ts';
import { chartCard, type Run, seriesName } from './report-parts.ts';

/**
 * "Handovers": what moving cost the mobile clients, per variant (docs/results.md states each
 * rule): moves, deliveries owed and lost, what a clean client missed without a session,
 * duplicates with and without the DUP flag, persistent sessions not found after a move, and the
 * distributions of transfer time (CONNECT → CONNACK at the new broker) and first-message gap
 * (CONNACK → first message). [design] Shown only for documents that kept these figures, so an
 * older run reads as before rather than as one whose clients lost nothing.
 */

/** One curve of the handover chart: a variant's transfer times or its gaps. */
export interface HandoverCurve {
  label: string;
  run: number;
  index: number;
  figure: 'transfer' | 'gap';
  points: Point[];
}

export function handoverChartData(runs: readonly Run[]): HandoverCurve[] {
  const overlaid = runs.length > 1;
  const curves: HandoverCurve[] = [];
  runs.forEach((run, r) => {
    run.results.variants.forEach((variant, index) => {
      const stats = variant.handoverStats;
      if (stats === undefined) return;
      const name = seriesName(run, variant.name, overlaid);
      for (const figure of ['transfer', 'gap'] as const) {
        const distribution = figure === 'transfer' ? stats.transferMs : stats.gapMs;
        if (distribution.count === 0) continue;
        const histogram = decodeHistogram(
          distribution.histogram,
          `variant ${variant.name}, handover ${figure}`,
        );
        curves.push({
          label: `${name} ${figure}`,
          run: r,
          index,
          figure,
          points: cdfCurve(histogram),
        });
      }
    });
  });
  return curves;
}

const ms = (count: number, value: number) => (count === 0 ? '—' : formatMs(value));

function row(name: string, s: HandoverStats): string {
  const cells: [string, boolean][] = [
    [formatCount(s.handovers), false],
    [`${formatCount(s.persistentClients)} / ${formatCount(s.mobileClients)}`, false],
    [formatCount(s.owed), false],
    [formatCount(s.lost), s.lost > 0],
    [formatCount(s.missedWithoutSession), false],
    [formatCount(s.duplicates.flagged), false],
    [formatCount(s.duplicates.unflagged), s.duplicates.unflagged > 0],
    [formatCount(s.sessionPresentMisses), s.sessionPresentMisses > 0],
    [ms(s.transferMs.count, s.transferMs.p50), false],
    [ms(s.transferMs.count, s.transferMs.p99), false],
    [ms(s.gapMs.count, s.gapMs.p50), false],
    [ms(s.gapMs.count, s.gapMs.p99), false],
  ];
  return `<tr><td>${escapeHtml(name)}</td>${cells
    .map(([text, bad]) => `<td class="num${bad ? ' bad' : ''}">${escapeHtml(text)}</td>`)
    .join('')}</tr>`;
}

const HEAD = [
  'handovers',
  'persistent / mobile',
  'owed',
  'lost',
  'missed w/o session',
  'dup. with DUP',
  'dup. no DUP',
  'session misses',
  'transfer p50 ms',
  'transfer p99 ms',
  'gap p50 ms',
  'gap p99 ms',
];

/** The section; empty when no variant kept handover figures. */
export function handoverSection(runs: readonly Run[], datasets: number): string {
  const overlaid = runs.length > 1;
  const rows: string[] = [];
  for (const run of runs) {
    for (const variant of run.results.variants) {
      if (variant.handoverStats === undefined) continue;
      rows.push(row(seriesName(run, variant.name, overlaid), variant.handoverStats));
    }
  }
  if (rows.length === 0) return '';
  return `<section id="handover-section">
  <h2>Handovers: sessions that move with their clients</h2>
  <div class="scroll"><table id="handover-figures">
  <thead><tr><th>Variant</th>${HEAD.map((h) => `<th class="num">${escapeHtml(h)}</th>`).join('')}</tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table></div>
  <p class="note">Mobile clients only, after the warm-up, summed over the repetitions. Owed: deliveries acknowledged by the broker (QoS 1) or handed over (QoS 0) on a client's topics; a persistent client is owed all of them, a clean one none published while it had no session (between leaving a broker and subscribing at the next: counted as missed without session, not as lost). Lost: owed and never received. Duplicates: a message received again, with the DUP flag set or without (MQTT allows a redelivery only with DUP). Session present misses: CONNACKs after a move that found no session for a persistent client (it then subscribed again). Transfer: CONNECT written to the new broker → its CONNACK, moving the session and the TCP (and TLS) handshake included. Gap: that CONNACK → the first message after it.</p>
  <div class="grid single">${chartCard(
    'chart-handover',
    'Handover transfer time and first-message gap',
    'Cumulative distributions over every move of every repetition: transfer time (solid) and first-message gap (dashed), in ms, per variant.',
    'No move had a transfer time or a gap.',
    datasets,
  )}</div>
</section>`;
}

/**
 * The table for the terminal, one line per variant with handover figures: what `mqfed run`
 * prints after its delivery table. Empty for a document without them.
 */
export function handoverTableText(results: Results): string {
  const header = [
    'handovers',
    'moves',
    'owed',
    'lost',
    'missed w/o session',
    'dup DUP',
    'dup no DUP',
    'session misses',
    'transfer p50/p99 ms',
    'gap p50/p99 ms',
  ];
  const rows: string[][] = [];
  for (const variant of results.variants) {
    const s = variant.handoverStats;
    if (s === undefined) continue;
    rows.push([
      variant.name,
      formatCount(s.handovers),
      formatCount(s.owed),
      formatCount(s.lost),
      formatCount(s.missedWithoutSession),
      formatCount(s.duplicates.flagged),
      formatCount(s.duplicates.unflagged),
      formatCount(s.sessionPresentMisses),
      `${ms(s.transferMs.count, s.transferMs.p50)} / ${ms(s.transferMs.count, s.transferMs.p99)}`,
      `${ms(s.gapMs.count, s.gapMs.p50)} / ${ms(s.gapMs.count, s.gapMs.p99)}`,
    ]);
  }
  if (rows.length === 0) return '';
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i]!.length)),
  );
  const line = (cells: readonly string[]) =>
    `  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')}`;
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
