import { describe, expect, it } from 'vitest';
import { brokerCounters, countersDelta, linkBytesOut, scrapeLinkBytes } from './broker-metrics.ts';

describe('a broker’s counters from its metrics', () => {
  it('sums the bytes sent to every peer, and ignores received bytes and other metrics', () => {
    const text = [
      '# HELP mqfed_broker_link_bytes_total Peer-link bytes, by peer and direction',
      '# TYPE mqfed_broker_link_bytes_total counter',
      'mqfed_broker_link_bytes_total{peer="b",direction="in",service="broker"} 999',
      'mqfed_broker_link_bytes_total{peer="b",direction="out",service="broker"} 1200',
      'mqfed_broker_link_bytes_total{peer="c}",direction="out",service="broker"} 34',
      'mqfed_broker_link_frames_total{peer="b",direction="out",service="broker"} 7',
      'mqfed_broker_link_bytes_total_extra{direction="out"} 5',
    ].join('\n');
    expect(linkBytesOut(text)).toBe(1234);
    expect(linkBytesOut('')).toBe(0);
  });

  it('reads where the messages went, drops by reason, and what changed between two readings', () => {
    const text = (forwarded: number, backpressure: number) =>
      [
        `mqfed_broker_forwarded_total{service="broker"} ${forwarded}`,
        'mqfed_broker_delivered_total{service="broker"} 7',
        `mqfed_broker_dropped_total{reason="backpressure",service="broker"} ${backpressure}`,
        'mqfed_broker_dropped_total{reason="payload_too_large",service="broker"} 1',
        'mqfed_broker_gaps_total{service="broker"} 0',
      ].join('\n');
    expect(brokerCounters(text(10, 2))).toEqual({
      forwarded: 10,
      delivered: 7,
      dropped: { backpressure: 2, payload_too_large: 1 },
      gaps: 0,
      linkBytesOut: 0,
    });
    expect(countersDelta(brokerCounters(text(10, 2)), brokerCounters(text(25, 5)))).toEqual({
      forwarded: 15,
      delivered: 0,
      dropped: { backpressure: 3 },
      gaps: 0,
      linkBytesOut: 0,
    });
  });

  it('leaves out a broker that does not answer', async () => {
    // Port 9 (discard) on loopback: nothing listens there in a test environment.
    const read = await scrapeLinkBytes([['gone', 'http://127.0.0.1:9']]);
    expect([...read]).toEqual([]);
  });
});
