import type { StartedTopology, Topology } from './topology.ts';

export interface TrackedTopology extends Topology {
  /** Closes every instance this topology started that is still open; safe to call twice. */
  closeAll(): Promise<void>;
}

/**
 * A topology that remembers what it started, for tests that hand it to `runScenario`. [design]
 * When such a test times out, vitest moves on while the run still holds the topology, and the
 * run's own cleanup waits for a run that may never end; a test's `afterEach(closeAll)` does run,
 * and ends the services at once instead.
 */
export function trackedTopology(topology: Topology): TrackedTopology {
  const started = new Set<StartedTopology>();
  return {
    kind: topology.kind,
    async start(request) {
      const instance = await topology.start(request);
      started.add(instance);
      return instance;
    },
    async closeAll() {
      const open = [...started];
      started.clear();
      await Promise.allSettled(open.map((instance) => instance.close()));
    },
  };
}
