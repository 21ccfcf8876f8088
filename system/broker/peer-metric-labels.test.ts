import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createBrokerMetrics, MAX_PEER_LABELS, OTHER_PEERS_LABEL } from './broker-metrics.ts';

/** The distinct values of `label` over the series of `metric` in a scrape. */
function labelValues(scrape: string, metric: string, label: string): Set<string> {
  const values = new Set<string>();
  const pattern = new RegExp(`^${metric}\\{[^}]*${label}="([^"]*)"`, 'gm');
  for (const match of scrape.matchAll(pattern)) values.add(match[1] ?? '');
  return values;
}

describe('the peer label of link traffic is bounded', () => {
  it('per-peer traffic has at most MAX_PEER_LABELS peer values, the rest under one', async () => {
    const registry = new Registry();
    const metrics = createBrokerMetrics(registry, {
      clients: () => 0,
      subscriptions: () => 0,
      linksByState: () => ({ connecting: 0, open: 0, idle: 0 }),
      outbox: () => ({ messages: 0, bytes: 0 }),
    });
    for (let i = 0; i < MAX_PEER_LABELS + 300; i++) metrics.trafficOf(`peer-${i}`).framesIn += 1;
    // A peer already counted keeps its own series.
    metrics.trafficOf('peer-0').framesIn += 1;
    const scrape = await registry.metrics();
    const peers = labelValues(scrape, 'mqfed_broker_link_frames_total', 'peer');
    expect(peers.size).toBe(MAX_PEER_LABELS + 1);
    expect(peers.has(OTHER_PEERS_LABEL)).toBe(true);
    expect(scrape).toContain(
      `mqfed_broker_link_frames_total{peer="${OTHER_PEERS_LABEL}",direction="in"} 300`,
    );
    expect(scrape).toContain('mqfed_broker_link_frames_total{peer="peer-0",direction="in"} 2');
  });
});
