import { describe, expect, it } from 'vitest';
import { shares } from './idle-generators.ts';
import { perUnitKiB, ratioTo, slopeKiB, spreadOf, verdict, vmRssKiB } from './memory-figures.ts';
import { countEstablished, linkCosts, linkCounts } from './memory-phases.ts';
import { summarize } from './memory-report.ts';

describe('the memory bench arithmetic', () => {
  it('reads VmRSS from a process status and refuses a status without one', () => {
    const status = 'Name:\tnode\nVmPeak:\t  900000 kB\nVmRSS:\t  123456 kB\nRssAnon:\t 100000 kB\n';
    expect(vmRssKiB(status)).toBe(123_456);
    expect(() => vmRssKiB('Name:\tkthreadd\nState:\tS\n')).toThrow(/VmRSS/);
  });

  it('gives a cost per unit, and none for no units', () => {
    expect(perUnitKiB(1000, 3000, 100)).toBe(20);
    expect(perUnitKiB(1000, 900, 100)).toBe(-1);
    expect(perUnitKiB(1000, 3000, 0)).toBeUndefined();
  });

  it('fits the slope over steps, so a one-off step cost lands in the intercept', () => {
    // 100 KiB a link, plus 500 KiB once at the first link (a client that subscribed).
    const points = [0, 1, 2, 4, 8].map((x) => ({ x, y: 10_000 + 100 * x + (x > 0 ? 500 : 0) }));
    const slope = slopeKiB(points)!;
    expect(slope).toBeGreaterThan(100);
    expect(slope).toBeLessThan(160);
    expect(slopeKiB([{ x: 0, y: 1 }])).toBeUndefined();
    expect(
      slopeKiB([
        { x: 2, y: 1 },
        { x: 2, y: 5 },
      ]),
    ).toBeUndefined();
    expect(
      slopeKiB([
        { x: 0, y: 10 },
        { x: 4, y: 30 },
      ]),
    ).toBe(5);
  });

  it('sums repetitions up as median, range and spread, leaving out missing ones', () => {
    expect(spreadOf([10, 12, 11, undefined])).toEqual({
      values: [10, 12, 11],
      median: 11,
      min: 10,
      max: 12,
      spread: 0.18,
    });
    expect(spreadOf([undefined])).toBeUndefined();
    expect(spreadOf([0, 0])?.spread).toBeUndefined();
  });

  it('judges a figure against its bound, and says nothing without one', () => {
    expect(verdict('≤ 16 KiB', 15.9, 16).met).toBe(true);
    expect(verdict('≤ 16 KiB', 16.1, 16).met).toBe(false);
    expect(verdict('≤ 2 × Mosquitto', 10, undefined).met).toBeUndefined();
    expect(ratioTo(30, 1.5)).toBe(20);
    expect(ratioTo(30, 0)).toBeUndefined();
  });

  it('splits a link figure into one more link and the one-off cost of the first', () => {
    // 15,000 KiB once at the first link, 100 KiB every link.
    const points = [0, 1, 2, 4, 8].map((x) => ({ x, y: 150_000 + 100 * x + (x > 0 ? 15_000 : 0) }));
    expect(linkCosts(points)).toEqual({ perLinkKiB: 100, firstLinkKiB: 15_000 });
    expect(linkCosts([{ x: 0, y: 1 }])).toEqual({ perLinkKiB: undefined, firstLinkKiB: undefined });
  });

  it('spreads clients over generators in near-equal shares that add up', () => {
    expect(shares(10_000, 3)).toEqual([3334, 3333, 3333]);
    expect(shares(1, 4)).toEqual([1]);
    expect(shares(7, 2).reduce((a, b) => a + b, 0)).toBe(7);
  });

  it('reads the links of a broker by state from its metrics', () => {
    const text = [
      '# HELP mqfed_broker_links Peer links by state',
      'mqfed_broker_links{state="connecting"} 1',
      'mqfed_broker_links{state="open",service="broker"} 4',
      'mqfed_broker_links{state="idle"} 0',
    ].join('\n');
    expect(linkCounts(text)).toEqual({ connecting: 1, open: 4, idle: 0 });
    expect(linkCounts('mqfed_broker_clients 3\n')).toEqual({ connecting: 0, open: 0, idle: 0 });
  });

  it('counts established connections to one local port in /proc/net/tcp', () => {
    const header =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
    const rows = [
      '   0: 0100007F:075B 0100007F:D1A2 01 00000000:00000000 00:00000000 00000000     0        0 1',
      '   1: 0100007F:075B 0100007F:D1A4 01 00000000:00000000 00:00000000 00000000     0        0 2',
      '   2: 0100007F:075B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3',
      '   3: 0100007F:D1A2 0100007F:075B 01 00000000:00000000 00:00000000 00000000     0        0 4',
    ];
    expect(countEstablished([header, ...rows].join('\n'), 1883)).toBe(2);
  });

  it('holds each target to its figure: idle clients absolute, links against Mosquitto and the ws floor', () => {
    const idle = (
      system: 'mqfed' | 'aedes' | 'mosquitto',
      topics: number,
      perClientKiB: number,
    ) => ({
      system,
      topics,
      clients: 100,
      refused: 0,
      beforeKiB: 0,
      halfKiB: 0,
      afterKiB: 0,
      averageKiB: perClientKiB,
      perClientKiB,
      heapKiB: [],
      heapPerClientKiB: undefined,
    });
    const summary = summarize({
      idle: [
        idle('mqfed', 0, 20),
        idle('aedes', 0, 15),
        idle('mosquitto', 0, 1),
        idle('mqfed', 10, 12),
      ],
      links: [
        {
          system: 'mqfed',
          end: 'dialing',
          points: [],
          heapPoints: [],
          heapPerLinkKiB: undefined,
          perLinkKiB: 300,
          firstLinkKiB: 5000,
        },
        {
          system: 'mqfed',
          end: 'accepting',
          points: [],
          heapPoints: [],
          heapPerLinkKiB: undefined,
          perLinkKiB: 200,
          firstLinkKiB: 4000,
        },
        {
          system: 'mosquitto',
          end: 'dialing',
          points: [],
          heapPoints: [],
          heapPerLinkKiB: undefined,
          perLinkKiB: 200,
          firstLinkKiB: 600,
        },
        {
          system: 'mosquitto',
          end: 'accepting',
          points: [],
          heapPoints: [],
          heapPerLinkKiB: undefined,
          perLinkKiB: 100,
          firstLinkKiB: 0,
        },
        ...(['dialing', 'accepting'] as const).map((end) => ({
          system: 'ws' as const,
          end,
          points: [],
          heapPoints: [],
          heapPerLinkKiB: undefined,
          perLinkKiB: 120,
          firstLinkKiB: 50,
        })),
      ],
      topics: [],
    });
    expect(summary.idleRatio.connected).toBe(20);
    expect(summary.targets.idleClient.met).toBe(false);
    expect(summary.targets.subscribedClient.met).toBe(true);
    expect(summary.targets.idleOverAedes).toMatchObject({ boundKiB: 18.75, met: false });
    expect(summary.links.mqfed.both?.median).toBe(500);
    expect(summary.targets.link).toMatchObject({ boundKiB: 600, met: true });
    // The floor: bare ws connections, both ends 240 KiB; mqfed's 500 is a figure against it.
    expect(summary.links.ws.both?.median).toBe(240);
    expect(summary.linkFloorRatio).toBeCloseTo(500 / 240);
    // Each end absolute: the larger end (300 KiB, dialing) against 32 KiB.
    expect(summary.targets.linkEnd).toMatchObject({ boundKiB: 32, met: false });
    expect(summary.targets.topics.met).toBeUndefined();
  });
});
