import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * Each service owns its own registry, so several services in one process (the in-process
 * topology, tests) never share or clash on metric names.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'mqfed_' });
  return registry;
}

/** A gauge that reads the live state when scraped, so it can never drift from it. [design] */
export function liveGauge(registry: Registry, name: string, help: string, read: () => number) {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
