import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { MQFED_IMAGE } from '../../docker/index.ts';
import { createAuthClient } from '../../system/auth/index.ts';
import { PEER_LINK_PATH } from '../../system/broker/index.ts';
import { fetchTrusting } from '../../system/common/index.ts';
import { withCaFile } from '../broker-url.ts';
import { type EmulatedNetwork, emulateNetwork, routingArgs } from '../network/emulated-network.ts';
import { TestbedError } from '../testbed-error.ts';
import { brokerLookup } from './broker-lookup.ts';
import { scrapeLinkBytes } from './broker-metrics.ts';
import {
  type ClientHostServer,
  type RemoteClientHost,
  startClientHostServer,
} from './client-host-server.ts';
import { tarArchive } from './container-archive.ts';
import { containerKit, createNetwork } from './container-engine.ts';
import { LABEL_RUN, removeOrphans, runLabels } from './container-ownership.ts';
import { type ContainerTls, prepareRunTls, type RunTls } from './container-tls.ts';
import { cleanupOnInterrupt } from './interrupt-cleanup.ts';
import { linkCutActions } from './link-cut-actions.ts';
import { localPid } from './local-pid.ts';
import type { StartedTopology, Topology, TopologyRequest } from './topology.ts';

type StartedContainer = import('testcontainers').StartedTestContainer;

/** Fixed inside every container, which owns its ports (see docker/Dockerfile). */
const HTTP_PORT = 8080;
const MQTT_PORT = 1883;
const MQTTS_PORT = 8883;
const STOP_GRACE_MS = 10_000;
/**
 * Where a broker container keeps its data: the image's one data folder owned by the service's
 * user (docker/Dockerfile makes /data/auth, /data/secrets and /home/node uid 1000's), which is
 * already the image's MQFED_DATA_DIR; a broker container runs no auth service beside it. A named
 * volume mounted there starts out owned like the folder (Docker copies the folder into an empty
 * volume), so the broker can write it. [design] Should the image grow a broker folder of its
 * own, this is the one line to change.
 */
const BROKER_DATA_DIR = '/data/auth';

export interface ContainersTopologyOptions {
  /** The image every service runs; default the project's (docker/.env). Build it first. */
  image?: string;
  /** Extra `mqfed broker` flags for every broker, e.g. ['--link-idle-grace', '1s']. */
  brokerArgs?: readonly string[];
  startupTimeoutMs?: number;
}

/** Where a container is on the run's network, and what the harness knows about it. */
interface Placed {
  container: StartedContainer;
  ip: string;
  /** Its main process as this machine sees it; undefined when the engine runs elsewhere. */
  pid: number | undefined;
}

/**
 * Every service its own container on a private, user-defined network, started through
 * testcontainers: auth, discovery and each broker, each with a network alias, like the paper's
 * separate machines; and a client container for each host the scenario puts clients on. [design]
 * Clients without a host stay in the harness process; every client reaches the containers at
 * their addresses on the network (no published ports: no userland proxy in the measured path). Links between hosts are impaired by the same delay proxies as in the processes
 * topology, here listening on the network's gateway so that containers reach them; the kernel
 * has no netem to put the delay inside the containers. Each broker keeps its data (outboxes,
 * MQTT sessions) on a named volume of the run, which its restart (a new container) mounts again;
 * the volumes go with the run. With the scenario's `tls`, every hop is TLS from one CA the
 * harness makes for the run (container-tls.ts); without, the services run plain, said explicitly.
 */
export function containersTopology(options: ContainersTopologyOptions = {}): Topology {
  const image = options.image ?? MQFED_IMAGE;
  const startupTimeoutMs = options.startupTimeoutMs ?? 60_000;
  return {
    kind: 'containers',
    async start(request: TopologyRequest): Promise<StartedTopology> {
      const { getContainerRuntimeClient, PinnedContainer, Wait } = await containerKit();
      const client = await getContainerRuntimeClient().catch((error: Error) => {
        throw new TestbedError('CONTAINER_ENGINE_UNAVAILABLE', error.message, error);
      });
      await removeOrphans(client);
      const runId = randomBytes(4).toString('hex');
      const labels = runLabels(runId);
      // Client hosts run as containers only where the scenario declares hosts for its clients.
      const clientHosts = request.network === undefined ? [] : [...(request.clientHosts ?? [])];
      const adminCredential = randomBytes(24).toString('base64url');
      const logLevel = process.env.MQFED_LOG_LEVEL ?? 'warn';
      const placed = new Map<string, Placed>();
      const secrets = new Map<string, string>();
      const stopped = new Set<string>();
      const docker = client.container.dockerode;
      // Made before anything of the engine's, so that its failure leaves nothing behind.
      const runTls: RunTls | undefined = request.tls === true ? await prepareRunTls() : undefined;
      const networkName = `mqfed-${runId}`;
      const { network: dockerNetwork, prefix } = await createNetwork(docker, networkName, labels);
      // .1 is the gateway (this machine, where the delay proxies listen).
      const addresses = new Map<string, string>([
        ['auth', `${prefix}.2`],
        ['discovery', `${prefix}.3`],
        ...request.brokers.map((name, index) => [name, `${prefix}.${10 + index}`] as const),
        ...clientHosts.map(
          (host, index) => [clientHostName(host), `${prefix}.${100 + index}`] as const,
        ),
      ]);
      /** The named volumes of the brokers' data made so far. */
      const volumes = new Set<string>();
      /** `http:` or `ws:` as the run speaks it: `https:`, `wss:` with TLS. */
      const scheme = (plain: string) => (runTls === undefined ? plain : `${plain.slice(0, -1)}s:`);
      let hostServer: ClientHostServer | undefined;
      const remotes = new Map<string, RemoteClientHost>();
      let emulated: EmulatedNetwork | undefined;
      let closing: Promise<void> | undefined;
      const close = () => {
        closing ??= (async () => {
          forget();
          // Client hosts first: they end their clients' connections as they go.
          await hostServer?.close();
          // Brokers next, so they deregister while discovery still runs.
          const brokers = [...placed].filter(([name]) => request.brokers.includes(name));
          await Promise.allSettled(
            brokers.map(([, { container }]) => container.stop({ timeout: STOP_GRACE_MS })),
          );
          await Promise.allSettled(
            [...placed]
              .filter(([name]) => !request.brokers.includes(name))
              .map(([, { container }]) => container.stop({ timeout: STOP_GRACE_MS })),
          );
          placed.clear();
          // Whatever carries the run's label goes, whether or not it was placed. [design] Twice:
          // a container still starting (an interrupt during start-up) is removed at once, which
          // ends its start, rather than waited for: a broker whose auth is already gone keeps
          // retrying it and would hold the cleanup past its limit. A container created while
          // the first sweep ran is caught by the second, once every start has ended.
          const sweep = async () => {
            const left = await docker.listContainers({
              all: true,
              filters: { label: [`${LABEL_RUN}=${runId}`] },
            });
            await Promise.allSettled(
              left.map((info) => docker.getContainer(info.Id).remove({ force: true, v: true })),
            );
          };
          await sweep();
          await Promise.allSettled(starting);
          await sweep();
          await emulated?.close();
          await dockerNetwork.remove().catch(() => undefined);
          // The brokers' data: its containers are gone, so nothing holds the volumes now.
          await Promise.allSettled(
            [...volumes].map((volume) => docker.getVolume(volume).remove({ force: true })),
          );
          await runTls?.close();
        })();
        return closing;
      };
      const forget = cleanupOnInterrupt(close);

      /** Starts `mqfed <command>` in a container on the run's network. */
      const starting = new Set<Promise<unknown>>();
      const startService = async (
        name: string,
        alias: string,
        command: string[],
        environment: Record<string, string>,
        { volume, tls }: { volume?: { name: string; target: string }; tls?: ContainerTls } = {},
      ): Promise<Placed> => {
        if (closing !== undefined) {
          throw new TestbedError(
            'CONTAINER_ENGINE_UNAVAILABLE',
            `${name}: the topology is closing`,
          );
        }
        const ip = addresses.get(name) as string;
        const started = new PinnedContainer(image, { network: networkName, alias, ip })
          .withName(`mqfed-${runId}-${alias}`)
          .withLabels({ ...labels, 'mqfed.service': name })
          // [design] Without the scenario's TLS, plain text said explicitly: a container given
          // no TLS files would make a local CA of its own, which no other container trusts.
          .withEnvironment({
            MQFED_LOG_LEVEL: logLevel,
            ...(runTls === undefined ? { MQFED_INSECURE: '1' } : {}),
            ...tls?.environment,
            ...environment,
          })
          .withCopyArchivesToContainer(
            tls === undefined ? [] : [{ tar: Readable.from(tarArchive(tls.files)), target: '/' }],
          )
          .withCommand(command)
          // A name, not a path: Docker binds the named volume.
          .withBindMounts(
            volume === undefined ? [] : [{ source: volume.name, target: volume.target }],
          )
          // Each service prints one line with its URLs once it listens.
          .withWaitStrategy(Wait.forLogMessage(new RegExp(`^${command[0]} `, 'm')))
          .withStartupTimeout(startupTimeoutMs)
          .start();
        starting.add(started);
        const container = await started
          .catch((error: Error) => {
            throw new TestbedError(
              'CONTAINER_ENGINE_UNAVAILABLE',
              `${name} did not start: ${error.message}`,
              error,
            );
          })
          .finally(() => starting.delete(started));
        const info = await docker.getContainer(container.getId()).inspect();
        const found = { container, ip, pid: localPid(container.getId(), info.State.Pid) };
        placed.set(name, found);
        return found;
      };

      try {
        const gateway = `${prefix}.1`;
        /** A service's TLS: valid for its alias and address, and the gateway (the proxies). */
        const serviceTls = (name: string, alias: string) =>
          runTls?.service(alias, [
            alias,
            addresses.get(name) as string,
            gateway,
            'localhost',
            '127.0.0.1',
          ]);
        const auth = await startService(
          'auth',
          'auth',
          ['auth'],
          { MQFED_ADMIN_CREDENTIAL: adminCredential },
          { tls: serviceTls('auth', 'auth') },
        );
        const authUrl = `${scheme('http:')}//${auth.ip}:${HTTP_PORT}`;
        const { known, running } = brokerLookup(
          request.brokers,
          (name) => placed.get(name),
          stopped,
        );
        const admin = createAuthClient({ url: authUrl, tls: runTls?.trust });
        const [discovery] = await Promise.all([
          startService(
            'discovery',
            'discovery',
            ['discovery'],
            { MQFED_AUTH_URL: authUrl },
            { tls: serviceTls('discovery', 'discovery') },
          ),
          ...request.brokers.map(async (name) => {
            const { secret } = await admin.registerService(adminCredential, {
              id: name,
              role: 'broker',
              topics: { pub: ['#'], sub: ['#'] },
            });
            secrets.set(name, secret);
          }),
        ]);
        const discoveryUrl = `${scheme('http:')}//${discovery.ip}:${HTTP_PORT}`;
        emulated = await emulateNetwork(
          request.network,
          request.brokers,
          {
            auth: () => authUrl,
            discovery: () => discoveryUrl,
            link: (name) => `${scheme('ws:')}//${running(name).ip}:${HTTP_PORT}${PEER_LINK_PATH}`,
            mqtt: (name) =>
              runTls === undefined
                ? `mqtt://${running(name).ip}:${MQTT_PORT}`
                : `mqtts://${running(name).ip}:${MQTTS_PORT}`,
          },
          {
            random: request.random,
            proxyHost: gateway,
            cuttableLinks: request.cuttableLinks ?? false,
            tls: runTls !== undefined,
          },
        );
        const network = emulated;
        const startBroker = async (name: string) => {
          // The same volume at every start: what the killed container kept, the new one finds.
          const volume = `mqfed-${runId}-data-${name}`;
          if (!volumes.has(volume)) {
            await docker.createVolume({ Name: volume, Labels: labels });
            volumes.add(volume);
          }
          await startService(
            name,
            `broker-${name}`,
            ['broker', ...routingArgs(network.routing(name)), ...(options.brokerArgs ?? [])],
            {
              MQFED_BROKER_ID: name,
              MQFED_BROKER_SECRET: secrets.get(name) as string,
              // Peers on this network dial the alias; Docker's DNS follows a restarted broker.
              MQFED_ADVERTISED_HOST: `broker-${name}`,
              MQFED_DATA_DIR: BROKER_DATA_DIR,
              // The testbed's clients connect without credentials, over the run's own network.
              MQFED_ALLOW_ANONYMOUS: 'true',
            },
            {
              volume: { name: volume, target: BROKER_DATA_DIR },
              tls: serviceTls(name, `broker-${name}`),
            },
          );
        };
        await Promise.all(request.brokers.map(startBroker));
        if (clientHosts.length > 0) {
          const server = await startClientHostServer(gateway);
          hostServer = server;
          await Promise.all(
            clientHosts.map(async (host) => {
              await startService(
                clientHostName(host),
                `client-${host}`,
                // The URL carries the run's token: by environment, never on the command line.
                ['client-host'],
                { MQFED_HARNESS_URL: server.urlFor(host) },
                { tls: runTls?.client() },
              );
              remotes.set(host, await server.connected(host));
            }),
          );
        }
        const removeBroker = async (name: string, how: 'stop' | 'kill') => {
          const { container } = running(name);
          stopped.add(name);
          if (how === 'kill') await docker.getContainer(container.getId()).kill();
          await container.stop({ timeout: how === 'kill' ? 0 : STOP_GRACE_MS });
          placed.delete(name);
        };
        const dockerOf = (name: string) => docker.getContainer(running(name).container.getId());

        return {
          kind: 'containers',
          brokers: [...request.brokers],
          sampledServices: [
            'auth',
            'discovery',
            ...request.brokers,
            ...clientHosts.map(clientHostName),
          ],
          clients: (host) => remotes.get(host),
          impairment: network.method,
          endpoint(name, fromHost) {
            running(name);
            return { name, mqttUrl: withCaFile(network.mqttUrl(name, fromHost), runTls?.caPath) };
          },
          processIds: () =>
            new Map(
              [...placed].flatMap(([name, { pid }]) => (pid === undefined ? [] : [[name, pid]])),
            ),
          // The harness reaches each broker's HTTP port at its address on the network.
          linkBytes: () =>
            scrapeLinkBytes(
              request.brokers.flatMap((name) => {
                const found = stopped.has(name) ? undefined : placed.get(name);
                return found === undefined
                  ? []
                  : [[name, `${scheme('http:')}//${found.ip}:${HTTP_PORT}`] as const];
              }),
              fetchTrusting(runTls?.trust),
            ),
          async pinCpus(service, cpus) {
            const found = placed.get(service);
            if (found === undefined) {
              throw new TestbedError('SERVICE_NOT_RUNNING', `no running service ${service}`);
            }
            await docker
              .getContainer(found.container.getId())
              .update({ CpusetCpus: cpus.join(',') });
          },
          stop: (name) => removeBroker(name, 'stop'),
          kill: (name) => removeBroker(name, 'kill'),
          async restart(name) {
            known(name);
            if (!stopped.has(name)) await removeBroker(name, 'stop');
            await startBroker(name);
            stopped.delete(name);
          },
          async pause(name) {
            await dockerOf(name).pause();
          },
          async resume(name) {
            await dockerOf(name).unpause();
          },
          async disconnect(name) {
            const { container } = running(name);
            await dockerNetwork.disconnect({ Container: container.getId(), Force: true });
          },
          ...linkCutActions(request.cuttableLinks, network, known),
          // A volume of the engine, not a path on this machine.
          dataDir(name) {
            known(name);
            return undefined;
          },
          async reconnect(name) {
            const found = running(name);
            await dockerNetwork.connect({
              Container: found.container.getId(),
              EndpointConfig: {
                Aliases: [`broker-${name}`],
                IPAMConfig: { IPv4Address: found.ip },
              },
            });
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

/** The service name of a client host's container (in samples and labels). */
const clientHostName = (host: string) => `client host ${host}`;
