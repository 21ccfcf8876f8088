import type { FetchLike } from '../../system/common/index.ts';

/**
 * What a broker service's `/metrics` (system/broker/broker-metrics.ts) tells the testbed: the
 * bytes its peer links sent (cost per message), and where its messages went (forwarded,
 * delivered, dropped, gaps), which explains a loss. One parser and one scrape for both.
 */

/** The broker's counter of peer-link bytes. */
export const LINK_BYTES_METRIC = 'mqfed_broker_link_bytes_total';
const SCRAPE_TIMEOUT_MS = 2_000;

/** The counters of one broker that tell where its messages went. */
export interface BrokerCounters {
  /** PUBLISH frames sent to peers. */
  forwarded: number;
  /** PUBLISH frames from peers delivered to local clients. */
  delivered: number;
  /** Publishes not forwarded, by reason (`backpressure`, `payload_too_large`). */
  dropped: Record<string, number>;
  /** Messages a peer numbered that never arrived. */
  gaps: number;
  /** Peer-link bytes sent, over all peers. */
  linkBytesOut: number;
}

/** One sample of Prometheus text: its name, its label block (braces included) and its value. */
interface Sample {
  name: string;
  labels: string;
  value: number;
}

function* samples(metricsText: string): Generator<Sample> {
  for (const line of metricsText.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // Labels may hold any character but an unescaped quote; the block ends at the last brace.
    const open = line.indexOf('{');
    const space = line.indexOf(' ');
    const close = open >= 0 && open < space ? line.lastIndexOf('}') : -1;
    const nameEnd = close >= 0 ? open : space;
    if (nameEnd <= 0) continue;
    const value = Number(
      line
        .slice(close >= 0 ? close + 1 : space)
        .trim()
        .split(' ')[0],
    );
    if (!Number.isFinite(value)) continue;
    yield {
      name: line.slice(0, nameEnd),
      labels: close >= 0 ? line.slice(open, close + 1) : '',
      value,
    };
  }
}

const hasLabel = (labels: string, name: string, value: string) =>
  new RegExp(`[{,]${name}="${value}"[,}]`).test(labels);

/** Sum of `mqfed_broker_link_bytes_total{direction="out"}` over all peers, in Prometheus text. */
export function linkBytesOut(metricsText: string): number {
  return brokerCounters(metricsText).linkBytesOut;
}

/** The counters from a broker's Prometheus text; absent ones are 0. */
export function brokerCounters(metricsText: string): BrokerCounters {
  const counters: BrokerCounters = {
    forwarded: 0,
    delivered: 0,
    dropped: {},
    gaps: 0,
    linkBytesOut: 0,
  };
  for (const { name, labels, value } of samples(metricsText)) {
    if (name === 'mqfed_broker_forwarded_total') counters.forwarded += value;
    else if (name === 'mqfed_broker_delivered_total') counters.delivered += value;
    else if (name === 'mqfed_broker_gaps_total') counters.gaps += value;
    else if (name === LINK_BYTES_METRIC && hasLabel(labels, 'direction', 'out')) {
      counters.linkBytesOut += value;
    } else if (name === 'mqfed_broker_dropped_total') {
      const reason = labels.match(/[{,]reason="([^"]*)"/)?.[1] ?? 'unknown';
      counters.dropped[reason] = (counters.dropped[reason] ?? 0) + value;
    }
  }
  return counters;
}

/** What happened between two readings of one broker. */
export function countersDelta(before: BrokerCounters, after: BrokerCounters): BrokerCounters {
  const dropped: Record<string, number> = {};
  for (const [reason, value] of Object.entries(after.dropped)) {
    const delta = value - (before.dropped[reason] ?? 0);
    if (delta !== 0) dropped[reason] = delta;
  }
  return {
    forwarded: after.forwarded - before.forwarded,
    delivered: after.delivered - before.delivered,
    dropped,
    gaps: after.gaps - before.gaps,
    linkBytesOut: after.linkBytesOut - before.linkBytesOut,
  };
}

/**
 * Each broker's counters, by name, scraped from its `/metrics` (its HTTP base URL given). A
 * broker that does not answer in time (stopped, paused) is left out rather than counted as 0,
 * so a reader can tell a gap from a restart.
 */
export async function scrapeBrokerCounters(
  httpUrls: Iterable<readonly [name: string, url: string]>,
  /** `fetchTrusting(tls)` for brokers serving HTTPS from a private CA. */
  fetchWith: FetchLike = fetch,
): Promise<Map<string, BrokerCounters>> {
  const read = await Promise.all(
    [...httpUrls].map(async ([name, url]) => {
      try {
        const response = await fetchWith(new URL('/metrics', url).toString(), {
          signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS),
        });
        if (!response.ok) return undefined;
        return [name, brokerCounters(await response.text())] as const;
      } catch {
        return undefined;
      }
    }),
  );
  return new Map(read.filter((entry) => entry !== undefined));
}

/** Peer-link bytes each broker has sent, by name (see scrapeBrokerCounters). */
export async function scrapeLinkBytes(
  httpUrls: Iterable<readonly [name: string, url: string]>,
  fetchWith: FetchLike = fetch,
): Promise<Map<string, number>> {
  const counters = await scrapeBrokerCounters(httpUrls, fetchWith);
  return new Map([...counters].map(([name, read]) => [name, read.linkBytesOut]));
}
