import type { Floor, Latency, Results } from '../harness/results/index.ts';
import { escapeHtml, formatMs, formatRatio } from './format.ts';
import { type Run, td } from './report-parts.ts';

/** The smallest delay a run measured, that the measuring floor has to stay well below. */
export interface Hop {
  /** In words, for the sentence: `the cross-broker hop`. */
  what: string;
  /** How it was read, if not plain from `what`: `cross − same-broker p50`. */
  how?: string;
  ms: number;
}

/**
 * The smallest thing the run measured: the cross-broker hop (cross − same-broker p50, what the
 * overhead is made of), or a variant's p50 delay when that is smaller or there is no hop. Null
 * when nothing was delivered.
 */
export function smallestHop(results: Results): Hop | null {
  const candidates: Hop[] = [];
  const c = results.comparison;
  if (c !== null && c.crossBrokerP50Ms > c.sameBrokerP50Ms) {
    candidates.push({
      what: 'the cross-broker hop',
      how: 'cross − same-broker p50',
      ms: c.crossBrokerP50Ms - c.sameBrokerP50Ms,
    });
  }
  for (const v of results.variants) {
    if (v.received > 0 && v.latencyMs.p50 > 0) {
      candidates.push({ what: `the p50 delay of ${v.name}`, ms: v.latencyMs.p50 });
    }
  }
  return candidates.reduce<Hop | null>((min, h) => (min === null || h.ms < min.ms ? h : min), null);
}

export interface FloorVerdict {
  /** `well-below`: ≥ 10× below the hop; `below`: ≥ 3×; `close`: the hop is barely measurable. */
  kind: 'well-below' | 'below' | 'close' | 'no-hop';
  text: string;
}

const against = (floorMs: number, hopMs: number) =>
  floorMs <= 0
    ? 'too small to read against'
    : hopMs >= floorMs
      ? `${formatRatio(hopMs / floorMs)} below`
      : `${formatRatio(floorMs / hopMs)} above`;

/**
 * The floor against the smallest hop, in plain sentences: "the scheduler's p99 lateness is 12×
 * below the cross-broker hop". [design] The floor's worst part (scheduler p99 or loopback p50)
 * decides: a hop within 3× of it is mostly the testbed measuring itself.
 */
export function floorVerdict(floor: Floor, hop: Hop | null): FloorVerdict {
  const lag = floor.schedulerLagMs.p99;
  const loop = floor.loopbackMs.p50;
  if (hop === null) {
    return {
      kind: 'no-hop',
      text: `The scheduler's p99 lateness is ${formatMs(lag)} ms and the loopback p50 delay ${formatMs(loop)} ms; the run delivered nothing to hold them against.`,
    };
  }
  const worst = Math.max(lag, loop);
  const ratio = worst <= 0 ? Number.POSITIVE_INFINITY : hop.ms / worst;
  const first = `The scheduler's p99 lateness (${formatMs(lag)} ms) is ${against(lag, hop.ms)} ${hop.what} (${formatMs(hop.ms)} ms${hop.how === undefined ? '' : `, ${hop.how}`}), and the loopback p50 delay (${formatMs(loop)} ms) is ${against(loop, hop.ms)} it.`;
  if (ratio >= 10) {
    return { kind: 'well-below', text: `${first} The floor is well below what the run measured.` };
  }
  if (ratio >= 3) {
    return {
      kind: 'below',
      text: `${first} The floor is below what the run measured, but not far: read small differences with care.`,
    };
  }
  return {
    kind: 'close',
    text: `${first} The floor is close to what the run measured: on this machine that hop is barely measurable.`,
  };
}

function latencyRow(name: string, l: Latency): string {
  return `<tr><th scope="row">${escapeHtml(name)}</th>${[l.p50, l.p90, l.p99, l.max]
    .map((v) => td(formatMs(v), 'num'))
    .join('')}</tr>`;
}

function floorTable(floor: Floor, index: number): string {
  return `<table id="floor-${index}" class="floor">
  <thead><tr><th>Floor</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">max</th></tr></thead>
  <tbody>${latencyRow('Scheduler lateness (ms)', floor.schedulerLagMs)}
${latencyRow('Loopback delay (ms)', floor.loopbackMs)}
<tr><th scope="row">Recording one delivery (µs)</th><td class="num" colspan="4">${escapeHtml(formatMs(floor.recordCostUs))}</td></tr></tbody>
</table>`;
}

/**
 * "Measuring floor": per run, what a delay figure cannot be smaller than on that machine, and a
 * sentence holding it against the smallest hop the run measured.
 */
export function floorSection(runs: readonly Run[]): string {
  const overlaid = runs.length > 1;
  const parts = runs.map((run, index) => {
    const { floor } = run.results;
    const heading = overlaid ? `<h3>${escapeHtml(run.label)}</h3>` : '';
    if (floor === null) {
      return `${heading}<p class="empty" id="floor-${index}">Not measured: these results carry no floor figures.</p>`;
    }
    const verdict = floorVerdict(floor, smallestHop(run.results));
    return `${heading}${floorTable(floor, index)}
<p class="floor-verdict floor-${verdict.kind}">${escapeHtml(verdict.text)}</p>`;
  });
  return `<section id="floor">
  <h2>Measuring floor</h2>
  ${parts.join('\n  ')}
  <p class="note">Taken before the variants ran. Scheduler lateness: how late the open-loop publisher's timer fires with nothing to send. Loopback delay: timestamped frames over a loopback TCP socket to itself, no broker. Recording: decoding, matching and histogram cost of one delivery. A delay much closer to these than to 10× them measures the testbed as much as the brokers.</p>
</section>`;
}
