import { randomBytes } from 'node:crypto';
import { MQFED_IMAGE } from '../../docker/index.ts';
import { PEER_LINK_PATH } from '../../system/broker/index.ts';
import type { ProxyTarget } from '../network/delay-proxy.ts';
import { type EmulatedNetwork, emulateNetwork, routingArgs } from '../network/emulated-network.ts';
import { brokerHosts } from '../network/network-spec.ts';
import { TestbedError } from '../testbed-error.ts';
import { brokerLookup } from './broker-lookup.ts';
import { scrapeLinkBytes } from './broker-metrics.ts';
import {
  type ClientHostServer,
  type RemoteClientHost,
  startClientHostServer,
} from './client-host-server.ts';
import { runLabels } from './container-ownership.ts';
import { freePort } from './free-port.ts';
import { cleanupOnInterrupt } from './interrupt-cleanup.ts';
import { localPid } from './local-pid.ts';
import {
  createSecret,
  harnessAddressForTasks,
  readyNodes,
  removeServices,
  type SwarmNode,
  scaleService,
  swarmEngine,
  type TaskInfo,
  waitForNoTask,
  waitForTask,
} from './swarm-engine.ts';
import { removeRun, removeSwarmOrphans } from './swarm-ownership.ts';
import { checkImageOnNodes, planPlacement } from './swarm-placement.ts';
import { planSwarmProxies } from './swarm-proxies.ts';
import { swarmProvisioning } from './swarm-secrets.ts';
import { type SwarmServiceRequest, swarmServiceSpec } from './swarm-service-spec.ts';
import type { StartedTopology, Topology, TopologyRequest } from './topology.ts';

/** Fixed inside every container (docker/Dockerfile). */
const HTTP_PORT = 8080;
const MQTT_PORT = 1883;
/** The image's one data folder owned by the service's user (see containers.ts). */
const BROKER_DATA_DIR = '/data/auth';

export interface SwarmTopologyOptions {
  /** The image every service runs; it must be on every node that runs a task (checked first). */
  image?: string;
  /** Extra `mqfed broker` flags for every broker. */
  brokerArgs?: readonly string[];
  startupTimeoutMs?: number;
}

/** A service of the run and its task while it runs. */
interface Placed {
  serviceId: string;
  task: TaskInfo;
}

/**
 * Every service a service of a Docker Swarm, deployed by the harness on the swarm its engine
 * manages (`docker swarm init` on one machine, `docker swarm join` for more): auth, discovery and
 * each broker, the delay proxies of each emulated host, and a client host for each host the
 * scenario puts clients on. [design] Like the containers topology, but across machines:
 * - one overlay network per run; services find each other by name (`broker-a`), which follows a
 *   task to whatever node and address it restarts on;
 * - secrets (each broker's, auth's admin credential, the client hosts' harness URLs) are Docker
 *   secrets, files in the tasks, never environment or arguments; auth registers the brokers
 *   from them at start (its `--provision` manifest), so the harness never calls its admin API;
 * - scenario hosts map to nodes by the node label `mqfed.host` (swarm-placement.ts);
 * - a link between two hosts is a delay proxy on the host it starts from (swarm-proxies.ts);
 * - the harness reaches brokers at ports published on their nodes, for its own clients (those
 *   without a client host) and for metrics;
 * - faults are swarm operations: kill and stop scale a broker to 0 (with SIGKILL for a kill),
 *   restart scales it back; pause and disconnect act on the task's container, on this node only.
 */
export function swarmTopology(options: SwarmTopologyOptions = {}): Topology {
  const image = options.image ?? MQFED_IMAGE;
  const startupTimeoutMs = options.startupTimeoutMs ?? 120_000;
  return {
    kind: 'swarm',
    async start(request: TopologyRequest): Promise<StartedTopology> {
      if (request.tls === true || request.cuttableLinks === true) {
        throw new TestbedError(
          'UNSUPPORTED_BY_TOPOLOGY',
          `the swarm topology runs without ${request.tls === true ? 'TLS' : 'cuttable links'} ` +
            'for now: use --topology containers for this scenario',
        );
      }
      const { docker, selfId } = await swarmEngine();
      await removeSwarmOrphans(docker);
      const runId = randomBytes(4).toString('hex');
      const labels = runLabels(runId);
      const network = request.network;
      const hostOfBroker = network === undefined ? new Map<string, string>() : brokerHosts(network);
      const clientHosts = network === undefined ? [] : [...(request.clientHosts ?? [])];
      const nodes = await readyNodes(docker, selfId);
      const placement = planPlacement(nodes, Object.keys(network?.hosts ?? {}));
      await checkImageOnNodes(docker, image, placement.candidates, labels, startupTimeoutMs);

      const placed = new Map<string, Placed>();
      const stopped = new Set<string>();
      /** The engine calls still under way that create something of the run. */
      const pending = new Set<Promise<unknown>>();
      const track = <T>(made: Promise<T>): Promise<T> => {
        pending.add(made);
        void made.then(
          () => pending.delete(made),
          () => pending.delete(made),
        );
        return made;
      };
      const volumes = new Set<string>();
      const prefix = `mqfed-${runId}`;
      const overlay = await docker.createNetwork({
        Name: prefix,
        Driver: 'overlay',
        Attachable: true,
        CheckDuplicate: true,
        Labels: labels,
      });
      const networkId = String(overlay.id);
      let hostServer: ClientHostServer | undefined;
      let emulated: EmulatedNetwork | undefined;
      const remotes = new Map<string, RemoteClientHost>();
      let closing: Promise<void> | undefined;
      const close = () => {
        closing ??= (async () => {
          forget();
          await hostServer?.close();
          // Brokers first, so that they deregister while discovery still runs.
          const brokerIds = request.brokers.flatMap((name) => {
            const found = placed.get(name);
            return found === undefined ? [] : [found.serviceId];
          });
          await removeServices(docker, brokerIds);
          // Whatever was still being made when the run closed (an interrupt) is made first.
          await Promise.allSettled([...pending]);
          await emulated?.close();
          await removeRun(docker, runId);
          // The brokers' data, on this node (another node's volumes go with `docker volume prune`).
          await Promise.allSettled(
            [...volumes].map((volume) => docker.getVolume(volume).remove({ force: true })),
          );
        })();
        return closing;
      };
      const forget = cleanupOnInterrupt(close);

      const nodeOf = (id: string): SwarmNode | undefined => nodes.find((node) => node.id === id);
      /** Where the harness reaches a port published on the node of `task`. */
      const harnessAddress = (task: TaskInfo): string => {
        const node = nodeOf(task.nodeId);
        return node === undefined || node.id === selfId ? '127.0.0.1' : node.addr;
      };
      const startService = async (
        service: string,
        host: string | undefined,
        request: Omit<
          SwarmServiceRequest,
          'name' | 'image' | 'labels' | 'networkId' | 'constraints'
        >,
      ): Promise<Placed> => {
        if (closing !== undefined) {
          throw new TestbedError('SERVICE_START_FAILED', `${service}: the topology is closing`);
        }
        const created = await track(
          docker.createService(
            swarmServiceSpec({
              ...request,
              name: `${prefix}-${request.alias}`,
              image,
              labels: { ...labels, 'mqfed.service': service },
              networkId,
              constraints: placement.constraints(host),
              env: { MQFED_LOG_LEVEL: process.env.MQFED_LOG_LEVEL ?? 'warn', ...request.env },
            }),
          ),
        );
        const serviceId = String((created as { id?: string }).id);
        const task = await waitForTask(docker, serviceId, service, startupTimeoutMs);
        const found = { serviceId, task };
        placed.set(service, found);
        return found;
      };

      try {
        const secrets = await track(swarmProvisioning(docker, prefix, labels, request.brokers));
        const controlHost = network?.control;
        await startService('auth', controlHost, {
          alias: 'auth',
          args: ['auth', 'serve'],
          env: { MQFED_INSECURE: '1', ...secrets.authEnv },
          secrets: secrets.forAuth,
        });
        const authUrl = `http://auth:${HTTP_PORT}`;
        await startService('discovery', controlHost, {
          alias: 'discovery',
          args: ['discovery'],
          env: { MQFED_INSECURE: '1', MQFED_AUTH_URL: authUrl },
        });
        const { known, running } = brokerLookup(
          request.brokers,
          (name) => placed.get(name),
          stopped,
        );
        // Brokers publish their MQTT and HTTP ports at ports fixed for the run.
        const published = new Map<string, Map<number, number>>();
        for (const name of request.brokers) {
          published.set(
            name,
            new Map([
              [MQTT_PORT, await freePort()],
              [HTTP_PORT, await freePort()],
            ]),
          );
        }
        const brokerAlias = (name: string) => `broker-${name}`;
        const overlayMqtt = (name: string) => `mqtt://${brokerAlias(name)}:${MQTT_PORT}`;
        /** A broker's published port as the harness reaches it. */
        const harnessPort = (name: string, port: number): ProxyTarget => {
          const found = running(name);
          return {
            host: harnessAddress(found.task),
            port: published.get(name)?.get(port) ?? port,
          };
        };
        const proxies = planSwarmProxies({
          inSwarm: (route) =>
            route.to === 'mqtt'
              ? route.from !== undefined && clientHosts.includes(route.from)
              : route.to !== 'any',
          aliasOf: (host) => `links-${host}`,
          fromHarness: (target) => {
            const name = request.brokers.find((broker) => brokerAlias(broker) === target.host);
            if (name === undefined) {
              throw new TestbedError('SERVICE_NOT_RUNNING', `no broker at ${target.host}`);
            }
            return harnessPort(name, target.port);
          },
          random: request.random ?? Math.random,
        });
        emulated = await emulateNetwork(
          network,
          request.brokers,
          {
            auth: () => authUrl,
            discovery: () => `http://discovery:${HTTP_PORT}`,
            link: (name) => `ws://${brokerAlias(name)}:${HTTP_PORT}${PEER_LINK_PATH}`,
            mqtt: overlayMqtt,
          },
          { random: request.random, startProxy: proxies.startProxy },
        );
        const emulatedNetwork = emulated;
        await Promise.all(
          [...proxies.byHost].map(([host, specs]) =>
            startService(`links ${host}`, host, {
              alias: `links-${host}`,
              args: ['link-proxies'],
              env: { MQFED_LINK_PROXIES: JSON.stringify(specs) },
              healthCheck: false,
            }),
          ),
        );
        const startBroker = async (name: string) => {
          const volume = `${prefix}-data-${name}`;
          volumes.add(volume);
          await startService(name, hostOfBroker.get(name), {
            alias: brokerAlias(name),
            args: [
              'broker',
              ...routingArgs(emulatedNetwork.routing(name)),
              ...(options.brokerArgs ?? []),
            ],
            env: {
              MQFED_INSECURE: '1',
              MQFED_BROKER_ID: name,
              MQFED_BROKER_SECRET_FILE: `/run/secrets/${secrets.brokerFile}`,
              MQFED_ADVERTISED_HOST: brokerAlias(name),
              MQFED_DATA_DIR: BROKER_DATA_DIR,
              MQFED_ALLOW_ANONYMOUS: 'true',
            },
            secrets: [secrets.forBroker(name)],
            published: published.get(name),
            volume: { name: volume, target: BROKER_DATA_DIR },
          });
        };
        await Promise.all(request.brokers.map(startBroker));
        if (clientHosts.length > 0) {
          const server = await startClientHostServer(await harnessAddressForTasks(docker, nodes));
          hostServer = server;
          await Promise.all(
            clientHosts.map(async (host) => {
              const url = await track(
                createSecret(docker, `${prefix}-harness-${host}`, server.urlFor(host), labels),
              );
              await startService(`client host ${host}`, host, {
                alias: `client-${host}`,
                args: ['client-host'],
                healthCheck: false,
                env: { MQFED_HARNESS_URL_FILE: '/run/secrets/harness-url' },
                secrets: [{ id: url.SecretID, name: url.SecretName, file: 'harness-url' }],
              });
              remotes.set(host, await server.connected(host));
            }),
          );
        }

        const local = (name: string) => {
          const { task } = running(name);
          if (task.nodeId !== selfId) {
            throw new TestbedError(
              'UNSUPPORTED_BY_TOPOLOGY',
              `${name} runs on node ${nodeOf(task.nodeId)?.hostname ?? task.nodeId}: pause and disconnect act on this node's containers only`,
            );
          }
          return task.containerId;
        };
        const takeDown = async (name: string, signal: 'SIGTERM' | 'SIGKILL') => {
          const { serviceId, task } = running(name);
          stopped.add(name);
          // [design] A crash should happen when the scenario says: a container of this node is
          // killed at once, then the service scaled to 0 before its restart policy (1 s) brings
          // it back. Another node's task is killed by the scale-down itself (its stop signal),
          // which the orchestrator carries out a little later.
          if (signal === 'SIGKILL' && task.nodeId === selfId) {
            await docker
              .getContainer(task.containerId)
              .kill()
              .catch(() => undefined);
          }
          await scaleService(docker, serviceId, 0, signal);
          await waitForNoTask(docker, serviceId, startupTimeoutMs);
        };
        const bringUp = async (name: string) => {
          const found = placed.get(name) as Placed;
          // A second of slack: the manager stamps tasks with its own clock.
          const since = Date.now() - 1_000;
          await scaleService(docker, found.serviceId, 1);
          placed.set(name, {
            ...found,
            task: await waitForTask(docker, found.serviceId, name, startupTimeoutMs, since),
          });
          stopped.delete(name);
        };
        const sampled = [
          'auth',
          'discovery',
          ...request.brokers,
          ...clientHosts.map((host) => `client host ${host}`),
        ];

        return {
          kind: 'swarm',
          brokers: [...request.brokers],
          sampledServices: sampled,
          clients: (host) => remotes.get(host),
          impairment: emulatedNetwork.method,
          endpoint(name, fromHost) {
            running(name);
            const url = emulatedNetwork.mqttUrl(name, fromHost);
            if (fromHost !== undefined && clientHosts.includes(fromHost))
              return { name, mqttUrl: url };
            // The harness's own clients: through a proxy of the harness, or at the published port.
            if (url !== overlayMqtt(name)) return { name, mqttUrl: url };
            const { host, port } = harnessPort(name, MQTT_PORT);
            return { name, mqttUrl: `mqtt://${host}:${port}` };
          },
          placement: () => ({
            summary: placement.summary,
            services: Object.fromEntries(
              sampled.flatMap((service) => {
                const found = placed.get(service);
                const node = found === undefined ? undefined : nodeOf(found.task.nodeId);
                return node === undefined ? [] : [[service, node.hostname]];
              }),
            ),
          }),
          processIds: () =>
            new Map(
              [...placed].flatMap(([name, { task }]) => {
                const pid =
                  task.nodeId === selfId ? localPid(task.containerId, task.pid) : undefined;
                return pid === undefined || stopped.has(name) ? [] : [[name, pid]];
              }),
            ),
          linkBytes: () =>
            scrapeLinkBytes(
              request.brokers.flatMap((name) => {
                if (stopped.has(name) || !placed.has(name)) return [];
                const { host, port } = harnessPort(name, HTTP_PORT);
                return [[name, `http://${host}:${port}`] as const];
              }),
            ),
          async pinCpus(service, cpus) {
            const found = placed.get(service);
            if (found === undefined || found.task.nodeId !== selfId) {
              throw new TestbedError('SERVICE_NOT_RUNNING', `no service ${service} on this node`);
            }
            await docker
              .getContainer(found.task.containerId)
              .update({ CpusetCpus: cpus.join(',') });
          },
          stop: (name) => takeDown(name, 'SIGTERM'),
          kill: (name) => takeDown(name, 'SIGKILL'),
          async restart(name) {
            known(name);
            if (!stopped.has(name)) await takeDown(name, 'SIGTERM');
            await bringUp(name);
          },
          pause: async (name) => {
            await docker.getContainer(local(name)).pause();
          },
          resume: async (name) => {
            await docker.getContainer(local(name)).unpause();
          },
          disconnect: async (name) => {
            await overlay.disconnect({ Container: local(name), Force: true });
          },
          reconnect: async (name) => {
            await overlay.connect({
              Container: local(name),
              EndpointConfig: { Aliases: [brokerAlias(name)] },
            });
          },
          dataDir(name) {
            known(name);
            return undefined;
          },
          close,
          [Symbol.asyncDispose]: close,
        };
      } catch (error) {
        await close();
        throw error;
      }
    },
  };
}
