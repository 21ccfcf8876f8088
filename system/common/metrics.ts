import { collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';

let processMetrics: Metric[] | undefined;

/**
 * How often the event-loop lag is sampled, ms. [design] prom-client's default, 10 ms, is a timer
 * that wakes the process 100 times a second: on a shared 2-core VM each wake-up cost about 78 µs,
 * 7.9 ms of CPU a second per process with nothing to do, which `bench:link` counted against every
 * message at low rates (a Mosquitto broker idles at about 0.4 ms a second). At 100 ms it costs
 * about 1 ms a second, and the lag histogram still gets ten samples a second.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * The process-wide default metrics (CPU, memory, event-loop lag, GC), created once per process.
 * prom-client starts a GC PerformanceObserver and an enabled event-loop-delay monitor for every
 * `collectDefaultMetrics` call and offers no way to stop them; the observer holds its registry, so
 * collecting per service kept every closed service (its registry, gauges and whatever they read)
 * alive and left one more lag monitor ticking per service started in the process. [design]
 */
function sharedProcessMetrics(): Metric[] {
  if (processMetrics === undefined) {
    const owner = new Registry();
    collectDefaultMetrics({
      register: owner,
      prefix: 'mqfed_',
      eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
    });
    processMetrics = owner.getMetricsAsArray().map(({ name }) => owner.getSingleMetric(name)!);
  }
  return processMetrics;
}

/**
 * Each service owns its own registry, so several services in one process (the in-process
 * topology, tests) never share or clash on metric names. The process metrics are shared: they
 * describe the process whichever service is scraped (so a scrape of any of them restarts the
 * event-loop lag window), and the registry's default labels still add `service` when it renders
 * them.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  for (const metric of sharedProcessMetrics()) registry.registerMetric(metric);
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
