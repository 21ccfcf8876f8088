import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrokerServiceOptions, startLocalFederation } from '../../system/broker/index.ts';
import { fetchTrusting } from '../../system/common/index.ts';
import { withCaFile } from '../broker-url.ts';
import { type EmulatedNetwork, emulateNetwork } from '../network/emulated-network.ts';
import { TestbedError } from '../testbed-error.ts';
import { scrapeLinkBytes } from './broker-metrics.ts';
import { linkCutActions } from './link-cut-actions.ts';
import type { StartedTopology, Topology, TopologyRequest } from './topology.ts';

export interface InProcessTopologyOptions {
  /** Applied to every broker service (e.g. a shorter link idle grace). */
  broker?: Partial<BrokerServiceOptions>;
}

/** The one sampled service of an in-process run: everything shares the harness process. */
export const IN_PROCESS_SERVICE =
  'in-process: harness, auth, discovery and all brokers share one process';

/**
 * Every service inside the harness process, built on `startLocalFederation`: auth, discovery and
 * one broker service per scenario broker, each on port 0. Fast, for tests and quick runs; the
 * numbers include the harness's own load on the same event loop, which the processes kind avoids.
 * The auth service's data lives in a temporary directory removed on close, and so does each
 * broker's (`dataDir`: its outboxes and MQTT sessions), which outlives the broker's restart.
 */
export function inProcessTopology(options: InProcessTopologyOptions = {}): Topology {
  return {
    kind: 'in-process',
    async start(request: TopologyRequest): Promise<StartedTopology> {
      const dataDir = await mkdtemp(join(tmpdir(), 'mqfed-harness-'));
      // Auth and discovery first; each broker then starts with the URLs of its emulated links.
      const federation = await startLocalFederation({
        dataDir,
        brokers: [],
        logLevel: 'silent',
        ...(request.tls === true ? { tls: true } : {}),
        ...(options.broker === undefined ? {} : { broker: options.broker }),
      }).catch(async (error: unknown) => {
        await rm(dataDir, { recursive: true, force: true });
        throw error;
      });
      let network: EmulatedNetwork | undefined;
      const known = (name: string) => {
        if (!request.brokers.includes(name)) {
          throw new TestbedError('SERVICE_NOT_RUNNING', `no broker ${name} in this topology`);
        }
      };
      let closing: Promise<void> | undefined;
      const close = () => {
        closing ??= (async () => {
          try {
            await federation.close();
            await network?.close();
          } finally {
            await rm(dataDir, { recursive: true, force: true });
          }
        })();
        return closing;
      };
      const stopped = new Set<string>();
      const brokerDir = (name: string) => join(dataDir, 'brokers', name);
      const startBroker = async (name: string) => {
        // The same folder at every start: what the broker kept there is what a restart finds.
        await mkdir(brokerDir(name), { recursive: true });
        await federation.startBroker(name, {
          ...(network as EmulatedNetwork).routing(name),
          dataDir: brokerDir(name),
        });
      };
      try {
        network = await emulateNetwork(
          request.network,
          request.brokers,
          {
            auth: () => federation.auth.url,
            discovery: () => federation.discovery.url,
            link: (name) => federation.broker(name).linkUrl,
            mqtt: (name) => {
              const broker = federation.broker(name);
              return broker.mqttsUrl ?? broker.mqttUrl;
            },
          },
          {
            random: request.random,
            cuttableLinks: request.cuttableLinks ?? false,
            tls: request.tls === true,
          },
        );
        for (const name of request.brokers) await startBroker(name);
      } catch (error) {
        await close();
        throw error;
      }
      const emulated = network;
      return {
        kind: 'in-process',
        brokers: [...request.brokers],
        sampledServices: [IN_PROCESS_SERVICE],
        impairment: emulated.method,
        endpoint(name, fromHost) {
          known(name);
          if (stopped.has(name)) {
            throw new TestbedError('SERVICE_NOT_RUNNING', `broker ${name} is stopped`);
          }
          return {
            name,
            mqttUrl: withCaFile(emulated.mqttUrl(name, fromHost), federation.caPath),
            httpUrl: federation.broker(name).url,
          };
        },
        // Over each broker's own /metrics, as for the other kinds: the services expose nothing else.
        linkBytes: () =>
          scrapeLinkBytes(
            federation.brokers().map((broker) => [broker.id, broker.url] as const),
            fetchTrusting(federation.ca === undefined ? undefined : { ca: federation.ca }),
          ),
        async stop(name) {
          known(name);
          stopped.add(name);
          await federation.stopBroker(name);
        },
        async restart(name) {
          known(name);
          if (!stopped.has(name)) await federation.stopBroker(name);
          await startBroker(name);
          stopped.delete(name);
        },
        ...linkCutActions(request.cuttableLinks, emulated, known),
        dataDir(name) {
          known(name);
          return brokerDir(name);
        },
        close,
        [Symbol.asyncDispose]: close,
      };
    },
  };
}
