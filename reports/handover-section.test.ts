import { describe, expect, it } from 'vitest';
import { syntheticResults, v1Document } from './fixtures.ts';
import { formatMs } from './format.ts';
import { handoverTableText } from './handover-section.ts';
import { parseResults } from './load-results.ts';
import { buildChartData, expectedDatasets, renderReportHtml } from './report-html.ts';

const withMoves = syntheticResults({ handovers: true, repetitions: 2 });
const page = renderReportHtml(withMoves);

/** The cells of each body row of the handover table, as text. */
function rows(html: string): string[][] {
  const start = html.indexOf('<table id="handover-figures"');
  expect(start).toBeGreaterThanOrEqual(0);
  const table = html.slice(start, html.indexOf('</table>', start));
  return table
    .slice(table.indexOf('<tbody>'))
    .split('<tr>')
    .slice(1)
    .map((row) => [...row.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]!));
}

describe('the handover section', () => {
  it('has one row per variant with moves, losses, duplicates, session misses and percentiles', () => {
    const [persistent, clean] = rows(page);
    const stats = withMoves.variants.map((v) => v.handoverStats!);
    expect(persistent![0]).toBe('same-broker qos0');
    // handovers, persistent / mobile, owed, lost, missed, DUP, no DUP, misses, 4 × ms
    expect(persistent!.slice(1, 9)).toEqual(['80', '10 / 10', '8,000', '0', '0', '10', '0', '1']);
    expect(clean!.slice(1, 9)).toEqual(['80', '0 / 10', '7,400', '25', '600', '0', '4', '0']);
    expect(persistent![9]).toBe(formatMs(stats[0]!.transferMs.p50));
    expect(clean![12]).toBe(formatMs(stats[1]!.gapMs.p99));
    // Losses, duplicates without DUP and session misses are marked as bad.
    expect(page).toMatch(/<td class="num bad">25<\/td>/);
    expect(page).toMatch(/<td class="num bad">4<\/td>/);
  });

  it('draws transfer time and gap as one CDF each per variant', () => {
    const data = buildChartData([{ label: 'x', results: parseResults(withMoves) }]);
    expect(data.handover.map((c) => c.label)).toEqual([
      'same-broker qos0 transfer',
      'same-broker qos0 gap',
      'cross-broker qos0 transfer',
      'cross-broker qos0 gap',
    ]);
    for (const curve of data.handover) {
      expect(curve.points.at(-1)!.y).toBe(1);
      expect(curve.points[0]!.x).toBeGreaterThan(0);
    }
    expect(expectedDatasets(data)['chart-handover']).toBe(4);
    expect(page).toMatch(/<canvas id="chart-handover"[^>]*data-datasets="4"/);
  });

  it('is absent for documents without handover figures, v1 ones included', () => {
    const without = renderReportHtml(syntheticResults());
    expect(without).not.toContain('id="handover-section"');
    expect(without).not.toContain('id="chart-handover"');
    const old = renderReportHtml(parseResults(v1Document(withMoves)));
    expect(old).not.toContain('id="handover-section"');
  });

  it('prints as a terminal table, one line per variant, and nothing without figures', () => {
    const text = handoverTableText(withMoves).split('\n');
    expect(text[0]).toMatch(/^ {2}handovers +moves +owed +lost +missed w\/o session/);
    expect(text[1]).toMatch(/^ {2}same-broker qos0 +80 +8,000 +0 +0 +10 +0 +1 /);
    expect(text[2]).toMatch(/^ {2}cross-broker qos0 +80 +7,400 +25 +600 +0 +4 +0 /);
    expect(handoverTableText(syntheticResults())).toBe('');
  });
});
