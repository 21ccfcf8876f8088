import { describe, expect, it } from 'vitest';
import { ResourceSampler, readProcess } from './resource-sampler.ts';

describe('the resource sampler', () => {
  it.runIf(process.platform === 'linux')(
    'reads CPU time and memory of a process from /proc',
    () => {
      const reading = readProcess(process.pid);
      expect(reading!.cpuMs).toBeGreaterThan(0);
      expect(reading!.rssBytes).toBeGreaterThan(1024 * 1024);
      expect(readProcess(2 ** 22 + 1)).toBeUndefined();
    },
  );

  it('samples itself, and each watched process from its second sample on', () => {
    const sampler = new ResourceSampler('harness', 60_000);
    sampler.start();
    sampler.watch(() => new Map([['service x', process.pid]]));
    const until = performance.now() + 20;
    while (performance.now() < until) Math.sqrt(Math.random()); // some CPU to measure
    sampler.sample();
    sampler.sample();
    sampler.unwatch();
    sampler.sample();
    const services = sampler.stop();
    expect(services.map((s) => s.name)).toEqual(
      process.platform === 'linux' ? ['harness', 'service x'] : ['harness'],
    );
    expect(services[0]!.samples).toHaveLength(3);
    expect(services[0]!.samples[0]!.cpuPercent).toBeGreaterThan(0);
    if (process.platform === 'linux') expect(services[1]!.samples).toHaveLength(1);
  });
});
