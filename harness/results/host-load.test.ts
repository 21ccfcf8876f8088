import { describe, expect, it } from 'vitest';
import { type HostLoadInput, hostLoadOf } from './host-load.ts';

const MB = 1024 * 1024;
const startedAt = '2026-01-01T00:00:00.000Z';
/** The schedule began 10 s into the run: warm-up to 12 s, end at 20 s. */
const repetitionStart = '2026-01-01T00:00:10.000Z';

/** One sample a second for 30 s: `cpu` inside 13..20 s (the measured seconds), 90 % elsewhere. */
const samples = (cpu: number, rssMb: number) =>
  Array.from({ length: 30 }, (_, i) => {
    const tMs = (i + 1) * 1_000;
    return {
      tMs,
      cpuPercent: tMs >= 13_000 && tMs <= 20_000 ? cpu : 90,
      rssBytes: (i === 5 ? rssMb * 2 : rssMb) * MB,
    };
  });

const input = (system = 'mqfed'): HostLoadInput => ({
  startedAt,
  parameters: {
    durationMs: 10_000,
    warmupMs: 2_000,
    variants: [{ name: 'mqfed', placement: {} }],
    clients: {
      publishers: [{ name: 'p', count: 1_000, host: 'h1', broker: ['a', 'b'] }],
      subscribers: [
        { name: 's', count: 3_000, host: 'h1', broker: 'a' },
        { name: 'local', count: 500, broker: 'b' },
      ],
      mobile: [],
    },
  },
  services: [
    { name: 'harness (clients only)', samples: samples(10, 300) },
    { name: 'broker a', samples: samples(35, 400) },
    { name: 'client host h1', samples: samples(20, 500) },
    { name: 'auth', samples: samples(1, 100) },
  ],
  variants: [{ system, repetitions: [{ startedAt: repetitionStart }] }],
});

describe('load per host', () => {
  it('averages CPU over the measured window only, keeps the peak memory, and divides both per 1,000 clients', () => {
    const load = hostLoadOf(input())!;
    expect(load.clients).toBe(4_500);
    expect(load.windowMs).toBe(8_000);
    const host = load.rows.find((row) => row.service === 'client host h1')!;
    expect(host).toMatchObject({ role: 'client-host', clients: 4_000, samples: 8 });
    expect(host.cpuPercent).toBe(20);
    expect(host.cpuPercentMax).toBe(20);
    expect(host.rssBytes).toBe(1_000 * MB);
    expect(host.perThousandClients).toEqual({ cpuPercent: 5, rssBytes: 250 * MB });
    // Broker a: 500 of the round-robin publishers and all 3,000 subscribers of `s`.
    expect(load.rows.find((row) => row.service === 'broker a')).toMatchObject({
      role: 'broker',
      clients: 3_500,
      cpuPercent: 35,
    });
    // The harness counts every client; only the 500 without a client host ran in it.
    expect(load.rows.find((row) => row.role === 'harness')).toMatchObject({
      clients: 4_500,
      clientsHere: 500,
    });
    expect(load.rows.map((row) => row.service)).toEqual([
      'harness (clients only)',
      'broker a',
      'client host h1',
    ]);
  });

  it('leaves brokers out where a baseline placed the clients elsewhere', () => {
    const load = hostLoadOf(input('single-broker'))!;
    expect(load.rows.map((row) => row.role).sort()).toEqual(['client-host', 'harness']);
  });

  it('has no table for parameters that are not a scenario', () => {
    expect(hostLoadOf({ ...input(), parameters: { hand: 'made' } })).toBeUndefined();
  });
});
