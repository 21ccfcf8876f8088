import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { RESULTS_SCHEMA, type Results, type Variant } from '../harness/index.ts';

/**
 * A valid, deterministic `mqfed.results/v1` document for tests of the report tools: real
 * hdr-histogram-js histograms of known delays, a per-second timeline, handovers and service
 * samples. Same options, same document, byte for byte.
 */
export interface FixtureOptions {
  scenario?: string;
  /** Multiplies every cross-broker delay: 1.5 gives about 50 % overhead. */
  crossFactor?: number;
  /** Multiplies every delay of every variant (a slower machine). */
  scale?: number;
  /** Delays recorded per variant. */
  samples?: number;
  seed?: number;
  gitCommit?: string | null;
  /** Adds faults to the cross-broker variant: b2 killed and restarted, b1 stopped for good. */
  faults?: boolean;
}

/** mulberry32: a tiny seeded PRNG, so fixtures need no global randomness. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RUN_SECONDS = 30;
const RATE = 100;

/** Records `samples` delays (µs): a floor plus an exponential body and a rare slow tail. */
function recordVariant(
  name: string,
  system: Variant['system'],
  baseUs: number,
  samples: number,
  next: () => number,
  handovers: Variant['handovers'],
): Variant {
  const histogram = build({ numberOfSignificantValueDigits: 3 });
  for (let i = 0; i < samples; i++) {
    const body = -Math.log(1 - next()) * baseUs * 0.25;
    const tail = next() < 0.005 ? next() * baseUs * 20 : 0;
    histogram.recordValue(Math.round(baseUs + body + tail));
  }
  const ms = (us: number) => us / 1000;
  const lost = handovers.length;
  const timeline = Array.from({ length: RUN_SECONDS }, (_, s) => {
    const wobble = 1 + 0.1 * Math.sin(s / 3);
    const handoverHere = handovers.some((h) => Math.floor(h.tMs / 1000) === s);
    return {
      tMs: s * 1000,
      sent: RATE,
      received: handoverHere ? RATE - 1 : RATE,
      p50Ms: ms(baseUs * 1.2 * wobble),
      p99Ms: ms(baseUs * (handoverHere ? 6 : 2.5) * wobble),
    };
  });
  const variant: Variant = {
    name,
    system,
    latencyMs: {
      p50: ms(histogram.getValueAtPercentile(50)),
      p90: ms(histogram.getValueAtPercentile(90)),
      p99: ms(histogram.getValueAtPercentile(99)),
      p999: ms(histogram.getValueAtPercentile(99.9)),
      max: ms(histogram.maxValue),
      mean: ms(histogram.mean),
    },
    sent: RUN_SECONDS * RATE,
    received: RUN_SECONDS * RATE - lost,
    lost,
    duplicates: 0,
    reordered: 0,
    histogram: encodeIntoCompressedBase64(histogram),
    timeline,
    handovers,
  };
  histogram.destroy();
  return variant;
}

/**
 * The faults of `faults: true` and the outages they made, with figures chosen to be told apart
 * in a test: b2 out 12–22.85 s and back after 1.24 s; b1 never back; one fault that failed.
 */
export const FIXTURE_FAULTS: Pick<Variant, 'faults' | 'outages'> = {
  faults: [
    { tMs: 12_000, broker: 'b2', action: 'kill', tookMs: 3 },
    { tMs: 22_000, broker: 'b2', action: 'restart', tookMs: 850 },
    { tMs: 25_000, broker: 'b2', action: 'pause', tookMs: 2, error: 'no such process' },
    { tMs: 27_000, broker: 'b1', action: 'stop', tookMs: 120 },
  ],
  outages: [
    {
      broker: 'b2',
      down: 'kill',
      up: 'restart',
      downAtMs: 12_000,
      upAtMs: 22_850,
      recoveryMs: 1_240,
      whileDown: { sent: 1_085, received: 12, lost: 1_073 },
      surviving: { sent: 2_418, received: 2_411, lost: 7 },
    },
    {
      broker: 'b1',
      down: 'stop',
      up: null,
      downAtMs: 27_000,
      upAtMs: null,
      recoveryMs: null,
      whileDown: { sent: 300, received: 0, lost: 300 },
      surviving: { sent: 0, received: 0, lost: 0 },
    },
  ],
};

export function syntheticResults(options: FixtureOptions = {}): Results {
  const {
    scenario = 'paper-1',
    crossFactor = 1.5,
    scale = 1,
    samples = 20_000,
    seed = 42,
    gitCommit = '0123456789abcdef0123456789abcdef01234567',
    faults = false,
  } = options;
  const next = random(seed);
  const same = recordVariant('same-broker qos0', 'mqfed', 800 * scale, samples, next, []);
  const cross = recordVariant(
    'cross-broker qos0',
    'mqfed',
    800 * scale * crossFactor,
    samples,
    next,
    [
      { tMs: 10_000, client: 'mobile-1', from: 'b1', to: 'b2', gapMs: 42.5 },
      { tMs: 20_000, client: 'mobile-1', from: 'b2', to: 'b1' },
    ],
  );
  if (faults) Object.assign(cross, structuredClone(FIXTURE_FAULTS));
  const services = ['auth', 'discovery', 'broker-b1', 'broker-b2'].map((name, k) => ({
    name,
    samples: Array.from({ length: RUN_SECONDS }, (_, s) => ({
      tMs: s * 1000,
      cpuPercent: (k + 1) * 5 + 2 * Math.sin(s / 4 + k),
      rssBytes: (60 + 10 * k) * 1024 * 1024 + s * 64 * 1024,
    })),
  }));
  const overhead = (a: number, b: number) => (b - a) / a;
  return {
    schema: RESULTS_SCHEMA,
    scenario,
    description:
      'Synthetic fixture: one publisher, one subscriber, same broker versus different brokers',
    parameters: { rate: RATE, payloadBytes: 64, qos: 0, durationS: RUN_SECONDS, warmupS: 2 },
    seed,
    gitCommit,
    startedAt: '2026-11-25T10:00:00.000Z',
    durationMs: RUN_SECONDS * 1000,
    environment: {
      node: 'v24.21.0',
      platform: 'linux',
      arch: 'x64',
      cpus: 2,
      cpuModel: 'Synthetic CPU @ 2.0GHz',
      memoryBytes: 24 * 1024 ** 3,
      topology: 'in-process',
      impairment: 'none',
      clock: 'one process, performance.now()',
    },
    variants: [same, cross],
    services,
    comparison: {
      sameBrokerP50Ms: same.latencyMs.p50,
      crossBrokerP50Ms: cross.latencyMs.p50,
      overheadP50: overhead(same.latencyMs.p50, cross.latencyMs.p50),
      overheadP99: overhead(same.latencyMs.p99, cross.latencyMs.p99),
    },
    paper: { overhead: 0.5, note: 'about 50 % in the single-machine synthetic scenarios [paper]' },
  };
}
