import { collectDefaultMetrics, Registry } from 'prom-client';

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
