import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, liveGauge } from './metrics.ts';

describe('service metrics registries', () => {
  it('share one set of process metrics, so each new service starts no GC observer or event-loop monitor of its own', () => {
    // Per-service default metrics each left a GC observer holding their registry (and through
    // its gauges the whole closed service) for the life of the process: a harness leak per run.
    const first = createMetricsRegistry('auth');
    const second = createMetricsRegistry('broker');
    for (const name of ['mqfed_nodejs_gc_duration_seconds', 'mqfed_nodejs_eventloop_lag_seconds']) {
      expect(first.getSingleMetric(name)).toBeDefined();
      expect(second.getSingleMetric(name)).toBe(first.getSingleMetric(name));
    }
  });

  it('still label the shared process metrics with the service that is scraped', async () => {
    const auth = await createMetricsRegistry('auth').metrics();
    const broker = await createMetricsRegistry('broker').metrics();
    expect(auth).toMatch(/^mqfed_process_cpu_seconds_total\{service="auth"\} /m);
    expect(broker).toMatch(/^mqfed_process_cpu_seconds_total\{service="broker"\} /m);
  });

  it('keep each service’s own metrics apart: two services may define the same name', () => {
    const first = createMetricsRegistry('broker');
    const second = createMetricsRegistry('broker');
    liveGauge(first, 'mqfed_broker_links', 'links', () => 1);
    expect(second.getSingleMetric('mqfed_broker_links')).toBeUndefined();
    expect(() => liveGauge(second, 'mqfed_broker_links', 'links', () => 2)).not.toThrow();
  });
});
