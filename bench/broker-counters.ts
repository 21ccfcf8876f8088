/** The counters of one broker service that tell where messages went, from its `/metrics`. */
export interface BrokerCounters {
  /** PUBLISH frames sent to peers. */
  forwarded: number;
  /** PUBLISH frames from peers delivered to local clients. */
  delivered: number;
  /** Publishes not forwarded, by reason (`backpressure`, `payload_too_large`). */
  dropped: Record<string, number>;
  /** Messages a peer numbered that never arrived. */
  gaps: number;
}

const SAMPLE = /^(mqfed_broker_[a-z_]+?)(?:\{([^}]*)\})? (\S+)$/;

/** Reads the counters from the broker's Prometheus text; absent ones are 0. */
export async function scrapeBrokerCounters(httpUrl: string): Promise<BrokerCounters> {
  const response = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`${httpUrl}/metrics answered ${response.status}`);
  return parseBrokerCounters(await response.text());
}

export function parseBrokerCounters(text: string): BrokerCounters {
  const counters: BrokerCounters = { forwarded: 0, delivered: 0, dropped: {}, gaps: 0 };
  for (const line of text.split('\n')) {
    const [, name, labels = '', raw] = line.match(SAMPLE) ?? [];
    const value = Number(raw);
    if (name === 'mqfed_broker_forwarded_total') counters.forwarded += value;
    else if (name === 'mqfed_broker_delivered_total') counters.delivered += value;
    else if (name === 'mqfed_broker_gaps_total') counters.gaps += value;
    else if (name === 'mqfed_broker_dropped_total') {
      const reason = labels.match(/reason="([^"]*)"/)?.[1] ?? 'unknown';
      counters.dropped[reason] = (counters.dropped[reason] ?? 0) + value;
    }
  }
  return counters;
}

/** What happened between two scrapes. */
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
  };
}
