import { describe, expect, it } from 'vitest';
import { latencySchema } from '../results/index.ts';
import { publisherThread } from '../workload/publisher-thread.ts';
import { measureFloor } from './measuring-floor.ts';

describe('the measuring floor', () => {
  it('gives the scheduler’s lag, the loopback delay and the recording cost, and leaves no thread', async () => {
    const floor = await measureFloor({ durationMs: 200, recordings: 5_000 });
    for (const latency of [floor.schedulerLagMs, floor.loopbackMs]) {
      expect(latencySchema.parse(latency)).toEqual(latency);
      expect(latency.p50).toBeLessThanOrEqual(latency.p99);
      expect(latency.p99).toBeLessThanOrEqual(latency.max);
    }
    // A frame over loopback takes time; the scheduler can be on time to the µs.
    expect(floor.loopbackMs.p50).toBeGreaterThan(0);
    expect(floor.loopbackMs.max).toBeGreaterThanOrEqual(floor.loopbackMs.p50);
    expect(floor.recordCostUs).toBeGreaterThan(0);
    expect(publisherThread.active).toBe(false);
  });

  it('refuses a rate that is not a positive number', async () => {
    await expect(measureFloor({ rate: 0 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});
