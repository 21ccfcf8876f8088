import { describe, expect, it } from 'vitest';
import { mosquittoSection } from './mosquitto-report.ts';
import { compareWithMosquitto, MOSQUITTO_TARGETS, spread } from './mosquitto-targets.ts';
import { type PathName, UP_PROCESS } from './paths.ts';
import type { DelayAtRate, RunResult, ThroughputResults, Trial } from './results.ts';

/** A run with the figures the comparison reads: p50, p99 and CPU per message by process. */
function run(p50: number, p99: number, cpu: Record<string, number> = {}): RunResult {
  return {
    latencyMs: { p50, p99 },
    cost: { cpuUsPerMessage: cpu },
  } as unknown as RunResult;
}

function repetition(
  rate: number,
  number: number,
  paths: Partial<Record<PathName, RunResult>>,
): DelayAtRate {
  const none = { p50: undefined, p99: undefined };
  return {
    rate,
    repetition: number,
    paths,
    relayRatio: none,
    paperRatio: none,
    bridgeRatio: none,
    met: false,
  };
}

function search(
  path: PathName,
  highestPass: number,
  cpu: [string, string, number][],
): ThroughputResults {
  const trials = cpu.map(
    ([a, b, each]) =>
      ({
        ...run(1, 2, { [a]: each, [b]: each }),
        rate: highestPass,
        pass: true,
      }) as unknown as Trial,
  );
  return { path, qos: 0, startRate: 1, highestPass, lowestFail: undefined, met: null, trials };
}

const mqfedCpu = (each: number) => ({ 'broker a': each, 'broker b': each });
const bridgeCpu = (each: number) => ({ 'mosquitto a': each, 'mosquitto b': each });

describe('the targets against the Mosquitto bridge', () => {
  it('pairs each repetition with its own bridge runs and judges the median ratio', () => {
    const delay = [
      // hop 0.2 against 0.1 (2×); p99 3 against 2 (1.5×); CPU 100+100 against 40+40 (2.5×)
      repetition(200, 1, {
        same: run(0.3, 1, mqfedCpu(50)),
        cross: run(0.5, 3, mqfedCpu(100)),
        'mosquitto-same': run(0.2, 1),
        mosquitto: run(0.3, 2, bridgeCpu(40)),
      }),
      // hop 0.1 against 0.2 (0.5×); p99 2 against 2 (1×); CPU 60+60 against 40+40 (1.5×)
      repetition(200, 2, {
        same: run(0.3, 1),
        cross: run(0.4, 2, mqfedCpu(60)),
        'mosquitto-same': run(0.1, 1),
        mosquitto: run(0.3, 2, bridgeCpu(40)),
      }),
      // the bridge's hop under the noise (negative): no ratio for this repetition
      repetition(200, 3, {
        same: run(0.3, 1),
        cross: run(0.4, 2, mqfedCpu(60)),
        'mosquitto-same': run(0.4, 1),
        mosquitto: run(0.3, 2, bridgeCpu(40)),
      }),
    ];
    const comparison = compareWithMosquitto(delay, undefined)!;
    expect(comparison.repetitions).toBe(3);
    const [at200] = comparison.rates;
    expect(at200!.hopP50.ratio.values.map((v) => v?.toFixed(2))).toEqual([
      '2.00',
      '0.50',
      undefined,
    ]);
    expect(at200!.hopP50.ratio.median).toBeCloseTo(1.25);
    expect(at200!.hopP50.met).toBe(false);
    expect(at200!.crossP99.ratio.median).toBeCloseTo(1);
    expect(at200!.crossP99.met).toBe(true);
    expect(at200!.cpuPerMessage.ratio.median).toBeCloseTo(1.5);
    expect(at200!.cpuPerMessage.met).toBe(true);
    expect(comparison.met).toBe(false);
    const text = mosquittoSection(comparison).join('\n');
    expect(text).toContain('median of 3 repetitions');
    expect(text).toMatch(/hop p50 .*200\/s.*1\.25 \[0\.50–2\.00\] \(1 n\/a\).*≤ 1 +NOT met/);
  });

  it('compares the highest loss-free rates (at least) and the CPU of both at the same rate', () => {
    const cross = search('cross', 30_000, [['broker a', 'broker b', 10]]);
    const bridge = search('mosquitto', 30_000, [['mosquitto a', 'mosquitto b', 8]]);
    bridge.highestPass = 40_000;
    const comparison = compareWithMosquitto(undefined, [cross, bridge])!;
    expect(comparison.throughput!.ratio.median).toBeCloseTo(0.75);
    expect(comparison.throughput!.met).toBe(false);
    expect(comparison.throughput!.limit).toBe(MOSQUITTO_TARGETS.throughput);
    expect(comparison.cpuAtLoad!.rate).toBe(30_000);
    expect(comparison.cpuAtLoad!.ratio.median).toBeCloseTo(1.25);
    expect(comparison.cpuAtLoad!.met).toBe(true);
    expect(comparison.met).toBe(false);
  });

  it('gives the Node floor of each delay target from the relay path of the same repetitions', () => {
    const at = (number: number, relayCpu: number) =>
      repetition(2000, number, {
        same: run(0.2, 1),
        cross: run(0.3, 3, mqfedCpu(100)),
        relay: run(0.25, 1.5, { relay: relayCpu }),
        'mosquitto-same': run(0.2, 1),
        mosquitto: run(0.22, 2, bridgeCpu(40)),
      });
    const delay = [at(1, 60), at(2, 70)];
    const [processes] = compareWithMosquitto(delay, undefined)!.rates;
    // hop: relay − same = 0.05 against the bridge's 0.02; p99 1.5 against 2
    expect(processes!.hopP50.nodeFloor!.value.median).toBeCloseTo(0.05);
    expect(processes!.hopP50.nodeFloor!.ratio.median).toBeCloseTo(2.5);
    expect(processes!.crossP99.nodeFloor!.ratio.median).toBeCloseTo(0.75);
    // CPU: one relay per broker process, two of them: 2 × 65 against 80
    expect(processes!.cpuPerMessage.nodeFloor!.value.median).toBeCloseTo(130);
    expect(processes!.cpuPerMessage.nodeFloor!.ratio.values).toEqual([1.5, 1.75]);
    // the verdict is still mqfed's own figure: the floor explains, it does not excuse
    expect(processes!.cpuPerMessage.met).toBe(false);
    const text = mosquittoSection(compareWithMosquitto(delay, undefined)!).join('\n');
    expect(text).toMatch(
      /CPU per message.*2,000\/s.*NOT met +130\.0 \[120\.0–140\.0\] +1\.63 \[1\.50–1\.75\]/,
    );
    // under mqfed up both brokers are one process: the floor is one relay
    const up = delay.map((d) => ({
      ...d,
      paths: { ...d.paths, cross: run(0.3, 3, { [UP_PROCESS]: 150 }) },
    }));
    const [shared] = compareWithMosquitto(up, undefined, 'up')!.rates;
    expect(shared!.cpuPerMessage.nodeFloor!.value.median).toBeCloseTo(65);
    expect(shared!.cpuPerMessage.mqfed.median).toBe(150);
  });

  it('has no Node floor where the run had no relay path', () => {
    const delay = [
      repetition(200, 1, {
        same: run(0.3, 1),
        cross: run(0.5, 3, mqfedCpu(100)),
        'mosquitto-same': run(0.2, 1),
        mosquitto: run(0.3, 2, bridgeCpu(40)),
      }),
    ];
    const [at200] = compareWithMosquitto(delay, undefined)!.rates;
    expect(at200!.cpuPerMessage.nodeFloor).toBeUndefined();
    expect(mosquittoSection(compareWithMosquitto(delay, undefined)!).join('\n')).toMatch(
      /CPU per message.*NOT met +- +-/,
    );
  });

  it('is absent when the run measured no bridge', () => {
    const delay = [repetition(200, 1, { same: run(0.3, 1), cross: run(0.5, 3) })];
    expect(compareWithMosquitto(delay, undefined)).toBeUndefined();
  });

  it('takes the median of an even count as the mean of the middle two, and ignores gaps', () => {
    expect(spread([4, undefined, 1, 3, 2])).toMatchObject({ median: 2.5, min: 1, max: 4 });
    expect(spread([undefined]).median).toBeUndefined();
  });
});
