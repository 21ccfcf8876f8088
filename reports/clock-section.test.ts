import { describe, expect, it } from 'vitest';
import type { ClientHostClockRecord } from '../harness/results/index.ts';
import { clockSection, clockSummaryText } from './clock-section.ts';
import { syntheticResults } from './fixtures.ts';
import { parseResults } from './load-results.ts';
import { renderReportHtml } from './report-html.ts';

const clock = (host: string, driftMs: number, drifted: boolean): ClientHostClockRecord => ({
  host,
  offsetMs: 250.012,
  errorBoundMs: 0.04,
  roundTripMs: 0.08,
  endOffsetMs: 250.012 + driftMs,
  endErrorBoundMs: 0.05,
  driftMs,
  drifted,
  method: 'shortest-round-trip',
});

function withClocks(drift: number) {
  const results = syntheticResults();
  const [first] = results.variants;
  first!.repetitions[0]!.clocks = [
    clock('vm-pub', 0.01, false),
    clock('vm-sub', drift, drift > 0.09),
  ];
  return results;
}

describe('the clock section', () => {
  it('shows each client host’s offsets, bounds and drift, and survives the results schema', () => {
    const results = parseResults(JSON.parse(JSON.stringify(withClocks(0.02))));
    const html = clockSection([{ label: 'run', results }]);
    expect(html).toContain('<table id="clocks"');
    expect(html.match(/<td>vm-(pub|sub)<\/td>/g)).toHaveLength(2);
    expect(html).toContain('250.012 ± 0.040');
    expect(html).not.toContain('clock-warning');
    expect(renderReportHtml(results)).toContain('id="clock-section"');
    expect(clockSummaryText(results)).toMatch(/2 client hosts, .* ± 0\.050 ms at worst; no drift/);
  });

  it('warns above the table, in red and in the terminal line, of a drift beyond the bounds', () => {
    const results = withClocks(12.5);
    const html = clockSection([{ label: 'run', results }]);
    expect(html).toContain('id="clock-warning"');
    expect(html).toContain('<td class="num bad">12.500</td>');
    expect(clockSummaryText(results)).toMatch(/WARNING: 1 reading drifted, up to 12\.500 ms/);
  });

  it('is absent where no client host ran', () => {
    const results = syntheticResults();
    expect(clockSection([{ label: 'run', results }])).toBe('');
    expect(clockSummaryText(results)).toBe('');
    expect(renderReportHtml(results)).not.toContain('id="clock-section"');
  });
});
