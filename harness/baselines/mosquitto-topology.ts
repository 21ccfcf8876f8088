import { type EmulatedNetwork, emulateNetwork } from '../network/emulated-network.ts';
import { brokerHosts } from '../network/network-spec.ts';
import { brokerLookup } from '../topology/broker-lookup.ts';
import type { StartedTopology, Topology, TopologyRequest } from '../topology/topology.ts';
import { type MosquittoBridges, startMosquittoBridges } from './mosquitto-bridges.ts';

/**
 * The static-bridge baseline as a topology: the scenario's brokers are real Mosquitto brokers
 * bridged in a star, each its own OS process, behind the same emulated network as mqfed's. So a
 * scenario runs unchanged on either system, and the two compare side by side. [design]
 */
export function mosquittoBridgesTopology(
  options: { binary?: string; bridgeQos?: 0 | 1 } = {},
): Topology {
  return {
    kind: 'processes',
    async start(request: TopologyRequest): Promise<StartedTopology> {
      let bridges: MosquittoBridges | undefined;
      const stopped = new Set<string>();
      const { known, running } = brokerLookup(
        request.brokers,
        (name) => bridges?.endpoints.get(name),
        stopped,
      );
      const network: EmulatedNetwork = await emulateNetwork(
        request.network,
        request.brokers,
        { mqtt: running },
        { random: request.random },
      );
      const hostOf =
        request.network === undefined ? new Map<string, string>() : brokerHosts(request.network);
      let closing: Promise<void> | undefined;
      const close = () => {
        closing ??= (async () => {
          await bridges?.close();
          await network.close();
        })();
        return closing;
      };
      try {
        bridges = await startMosquittoBridges({
          brokers: request.brokers,
          ...(options.binary === undefined ? {} : { binary: options.binary }),
          ...(options.bridgeQos === undefined ? {} : { bridgeQos: options.bridgeQos }),
          // A spoke's bridge crosses the link from its host to the hub's.
          bridgeVia: (spoke, hub) =>
            network.between(hostOf.get(spoke), hostOf.get(request.brokers[0]!), hub),
        });
      } catch (error) {
        await close();
        throw error;
      }
      const started = bridges;
      return {
        kind: 'processes',
        brokers: [...request.brokers],
        get impairment() {
          return network.method;
        },
        sampledServices: request.brokers.map((name) => `mosquitto ${name}`),
        processIds: () =>
          new Map([...started.pids()].map(([name, pid]) => [`mosquitto ${name}`, pid] as const)),
        endpoint(name, fromHost) {
          running(name);
          return { name, mqttUrl: network.mqttUrl(name, fromHost) };
        },
        async stop(name) {
          running(name);
          await started.stop(name);
          stopped.add(name);
        },
        async kill(name) {
          running(name);
          await started.kill(name);
          stopped.add(name);
        },
        async restart(name) {
          known(name);
          await started.restart(name);
          stopped.delete(name);
        },
        close,
        [Symbol.asyncDispose]: close,
      };
    },
  };
}
