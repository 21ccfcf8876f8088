import type { Variant } from '../harness/results/index.ts';
import { escapeHtml, formatCount, formatMs } from './format.ts';

type Fault = NonNullable<Variant['faults']>[number];
type Outage = NonNullable<Variant['outages']>[number];

/** A fault on a time chart: `label` is drawn beside its line, `text` shows on hover. */
export interface FaultMarker {
  x: number;
  y: number;
  label: string;
  text: string;
}

/** A variant as the section shows it: named as its series are (`run · variant` when overlaid). */
export interface NamedVariant {
  name: string;
  variant: Variant;
}

/** Seconds after the schedule began, as the page header prints durations. */
const seconds = (ms: number) => formatMs(ms / 1000);

/** Every fault a variant carried out, failed ones included: the chart shows where each was tried. */
export function faultMarkers(faults: readonly Fault[] | undefined): FaultMarker[] {
  return (faults ?? []).map((f) => {
    const label = `${f.action} ${f.broker}${f.error === undefined ? '' : ' (failed)'}`;
    return {
      x: f.tMs / 1000,
      y: 0,
      label,
      text: `${label} at ${seconds(f.tMs)} s, took ${formatMs(f.tookMs)} ms${
        f.error === undefined ? '' : `: ${f.error}`
      }`,
    };
  });
}

const failedOf = (v: Variant) => (v.faults ?? []).filter((f) => f.error !== undefined);

/**
 * "Faults and recovery": per variant, its outages and the faults that failed. [design] Empty
 * unless some variant had an outage or a failed fault, so runs without faults look as before; a
 * fault that worked shows in its outage row, and on the delay chart.
 */
export function faultSection(variants: readonly NamedVariant[]): string {
  const shown = variants.filter(
    ({ variant }) => (variant.outages ?? []).length > 0 || failedOf(variant).length > 0,
  );
  if (shown.length === 0) return '';
  const parts = shown.map(({ name, variant }, index) => {
    const outages = variant.outages ?? [];
    const failed = failedOf(variant);
    return `<h3>${escapeHtml(name)}</h3>
${outages.length === 0 ? '<p class="empty">No broker was out of service.</p>' : outageTable(outages, index)}
${failed.length === 0 ? '' : failedTable(failed, index)}`;
  });
  return `<section id="faults">
  <h2>Faults and recovery</h2>
  ${parts.join('\n')}
  <p class="note">Times are seconds after the publish schedule began. Lost while down: deliveries to or from the broker's clients scheduled while it was down (for a link cut, <code>cut-links</code>, those across its links: its own clients stay connected). Surviving paths: deliveries on every other path from the fault until recovery. Recovery: from the broker being back until every path through it delivered again.</p>
</section>`;
}

function outageTable(outages: readonly Outage[], index: number): string {
  const num = (text: string, className = 'num') =>
    `<td class="${className}">${escapeHtml(text)}</td>`;
  const rows = outages.map((o) => {
    const { whileDown: down, surviving: kept } = o;
    return `<tr><td>${escapeHtml(o.broker)}</td><td>${escapeHtml(`${o.down} → ${o.up ?? '—'}`)}</td>${num(
      seconds(o.downAtMs),
    )}${num(o.upAtMs === null ? '—' : seconds(o.upAtMs))}${num(
      o.recoveryMs === null ? 'not recovered' : formatMs(o.recoveryMs),
      o.recoveryMs === null ? 'num bad' : 'num',
    )}${num(`${formatCount(down.lost)} / ${formatCount(down.sent)}`)}${num(
      `${formatCount(kept.received)} / ${formatCount(kept.sent)}`,
    )}${num(formatCount(kept.lost), kept.lost > 0 ? 'num bad' : 'num')}</tr>`;
  });
  return `<table id="outages-${index}" class="outages">
  <thead><tr><th>Broker</th><th>Down → up</th><th class="num">down at (s)</th><th class="num">back at (s)</th><th class="num">recovery (ms)</th><th class="num">lost while down (lost / sent)</th><th class="num">surviving paths (received / sent)</th><th class="num">surviving lost</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table>`;
}

function failedTable(failed: readonly Fault[], index: number): string {
  const rows = failed.map(
    (f) =>
      `<tr><td class="num">${escapeHtml(seconds(f.tMs))}</td><td>${escapeHtml(f.broker)}</td><td>${escapeHtml(
        f.action,
      )}</td><td class="bad">${escapeHtml(f.error ?? '')}</td></tr>`,
  );
  return `<table id="failed-faults-${index}" class="failed-faults">
  <thead><tr><th class="num">at (s)</th><th>Broker</th><th>Fault</th><th>Failed with</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody>
</table>`;
}
