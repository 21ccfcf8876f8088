import { describe, expect, it } from 'vitest';
import type { HostLoad } from '../harness/results/index.ts';
import { syntheticResults } from './fixtures.ts';
import { hostLoadSection, hostLoadText } from './host-load-section.ts';
import { renderReportHtml } from './report-html.ts';

const MiB = 1024 * 1024;
const hostLoad: HostLoad = {
  windowMs: 20_000,
  clients: 20_000,
  rows: [
    {
      service: 'harness (clients only)',
      role: 'harness',
      clients: 20_000,
      clientsHere: 0,
      samples: 20,
      cpuPercent: 11.3,
      cpuPercentMax: 20.1,
      rssBytes: 362 * MiB,
      perThousandClients: { cpuPercent: 0.57, rssBytes: Math.round(18.1 * MiB) },
    },
    {
      service: 'client host crowd-<1>',
      role: 'client-host',
      clients: 5_000,
      samples: 20,
      cpuPercent: 15.1,
      cpuPercentMax: 25.7,
      rssBytes: 494 * MiB,
      perThousandClients: { cpuPercent: 3.02, rssBytes: Math.round(98.8 * MiB) },
    },
  ],
};

describe('the load-per-host section', () => {
  it('shows each host’s clients, CPU and memory, and per 1,000 clients, escaped', () => {
    const html = hostLoadSection([{ label: 'run', results: { ...syntheticResults(), hostLoad } }]);
    expect(html).toContain('<h2>Load per host</h2>');
    expect(html).toContain('client host crowd-&lt;1&gt;');
    expect(html).toContain('20,000 (0 here)');
    expect(html).toContain('494.0 MiB');
    expect(html).toContain('98.8 MiB');
    expect(html).not.toContain('crowd-<1>');
    expect(hostLoadText({ ...syntheticResults(), hostLoad })).toMatch(
      /client host crowd-<1>\s+5,000 clients\s+CPU\s+15 %\s+peak 494\.0 MiB\s+per 1,000: CPU 3\.0 %, 98\.8 MiB/,
    );
  });

  it('is left out of a small run without client hosts, and is part of the page otherwise', () => {
    const small = syntheticResults();
    expect(hostLoadSection([{ label: 'run', results: small }])).toBe('');
    expect(renderReportHtml({ ...small, hostLoad })).toContain('id="host-load"');
  });
});
