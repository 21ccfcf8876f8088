import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthClient } from '../../system/auth/index.ts';
import { fetchTrusting, type TlsTrust } from '../../system/common/index.ts';
import { withCaFile } from '../broker-url.ts';
import { type EmulatedNetwork, emulateNetwork, routingArgs } from '../network/emulated-network.ts';
import { brokerLookup } from './broker-lookup.ts';
import { scrapeLinkBytes } from './broker-metrics.ts';
import { linkCutActions } from './link-cut-actions.ts';
import { type ServiceProcess, startServiceProcess, wordAfter } from './service-process.ts';
import type { StartedTopology, Topology, TopologyRequest } from './topology.ts';

/** Brokers booting at the same time (see start). */
const STARTS_AT_ONCE = 4 * availableParallelism();

export interface ProcessesTopologyOptions {
  /**
   * Extra `mqfed broker` flags for every broker, e.g. ['--link-idle-grace', '1s'], or for each
   * broker by its name (e.g. `--declare` on one of them).
   */
  brokerArgs?: readonly string[] | ((name: string) => readonly string[]);
  /** Extra environment of every broker process, e.g. NODE_OPTIONS for a CPU profile. */
  brokerEnv?: Readonly<Record<string, string>>;
}

/**
 * Every service its own OS process through the `mqfed` CLI: the paper's single-machine setup.
 * [design] The harness talks to them only as any operator would: command lines, printed URLs,
 * HTTP. Brokers are registered over the auth service's admin API with a per-run credential.
 * Each broker keeps its data (`MQFED_DATA_DIR`: outboxes, MQTT sessions) in a folder of the
 * run's temporary directory that outlives its kill and restart, removed on close.
 */
export function processesTopology(options: ProcessesTopologyOptions = {}): Topology {
  return {
    kind: 'processes',
    async start(request: TopologyRequest): Promise<StartedTopology> {
      const dataDir = await mkdtemp(join(tmpdir(), 'mqfed-processes-'));
      const adminCredential = randomBytes(24).toString('base64url');
      const services = new Map<string, ServiceProcess>();
      const secrets = new Map<string, string>();
      const stopped = new Set<string>();
      let network: EmulatedNetwork | undefined;
      let closing: Promise<void> | undefined;
      const close = () => {
        closing ??= (async () => {
          // Brokers first, so they deregister while discovery still runs.
          for (const service of [...services.values()].reverse()) await service.stop();
          services.clear();
          await network?.close();
          await rm(dataDir, { recursive: true, force: true });
        })();
        return closing;
      };
      // [design] Flags, not the environment, so a variable the harness inherited cannot flip it:
      // with TLS every service makes or reuses the run's one CA in the run's directory.
      const tlsDir = join(dataDir, 'tls');
      const tlsArgs = request.tls === true ? ['--tls-dir', tlsDir] : ['--insecure'];
      const caPath = request.tls === true ? join(tlsDir, 'ca.pem') : undefined;
      try {
        // Secrets go through the environment, never argv: see startServiceProcess.
        const auth = await startServiceProcess(
          'auth',
          ['auth', '--port', '0', '--data-dir', dataDir, ...tlsArgs],
          { MQFED_ADMIN_CREDENTIAL: adminCredential },
        );
        services.set('auth', auth);
        const authUrl = wordAfter(auth, 'auth');
        const trust: TlsTrust | undefined =
          caPath === undefined ? undefined : { ca: await readFile(caPath, 'utf8') };
        const discovery = await startServiceProcess('discovery', [
          'discovery',
          '--auth-url',
          authUrl,
          '--port',
          '0',
          ...tlsArgs,
        ]);
        services.set('discovery', discovery);
        const discoveryUrl = wordAfter(discovery, 'discovery');
        const admin = createAuthClient({ url: authUrl, tls: trust });
        const { known, running } = brokerLookup(
          request.brokers,
          (name) => services.get(name),
          stopped,
        );
        const emulated = await emulateNetwork(
          request.network,
          request.brokers,
          {
            auth: () => authUrl,
            discovery: () => discoveryUrl,
            link: (name) => wordAfter(running(name), 'link'),
            mqtt: (name) => wordAfter(running(name), caPath === undefined ? 'mqtt' : 'mqtts'),
          },
          {
            random: request.random,
            cuttableLinks: request.cuttableLinks ?? false,
            tls: request.tls === true,
          },
        );
        network = emulated;
        const brokerDir = (name: string) => join(dataDir, 'brokers', name);
        /** MQTT ports of brokers that ran: a restarted broker comes back on its own. */
        const mqttPorts = new Map<string, string>();
        const mqttsPorts = new Map<string, string>();
        const startBroker = async (name: string) => {
          const secret = secrets.get(name) as string;
          const routing = emulated.routing(name);
          // The same folder at every start: what the killed broker kept, the new one finds.
          await mkdir(brokerDir(name), { recursive: true });
          const broker = await startServiceProcess(
            `broker ${name}`,
            [
              'broker',
              '--id',
              name,
              ...routingArgs(routing),
              // [design] Where it listened before, as a restarted server would: clients that
              // reconnect on their own (fault scenarios) keep the address they had.
              '--mqtt-port',
              mqttPorts.get(name) ?? '0',
              '--mqtts-port',
              mqttsPorts.get(name) ?? '0',
              ...tlsArgs,
              '--http-port',
              '0',
              ...(typeof options.brokerArgs === 'function'
                ? options.brokerArgs(name)
                : (options.brokerArgs ?? [])),
            ],
            {
              // By environment, which a broker that has no such option yet ignores.
              MQFED_DATA_DIR: brokerDir(name),
              ...options.brokerEnv,
              MQFED_BROKER_SECRET: secret,
            },
          );
          services.set(name, broker);
          mqttPorts.set(name, new URL(wordAfter(broker, 'mqtt')).port);
          if (caPath !== undefined) mqttsPorts.set(name, new URL(wordAfter(broker, 'mqtts')).port);
        };
        // [design] Several at once: each start is mostly a Node process booting, and a loaded
        // machine makes that slow. At most STARTS_AT_ONCE, though: dozens of brokers booting
        // together on two cores each took longer than a start may (and their registrations
        // timed out at auth), where a few at a time finish in the same total. Settled, not
        // raced: a broker still starting when another fails must be in `services` before
        // close() runs, or it would outlive the topology; after a failure none is begun.
        const waiting = [...request.brokers];
        let failure: { reason: unknown } | undefined;
        const startNext = async (): Promise<void> => {
          for (let name = waiting.shift(); name !== undefined; name = waiting.shift()) {
            if (failure !== undefined) return;
            try {
              const { secret } = await admin.registerService(adminCredential, {
                id: name,
                role: 'broker',
                topics: { pub: ['#'], sub: ['#'] },
              });
              secrets.set(name, secret);
              await startBroker(name);
            } catch (reason) {
              failure ??= { reason };
            }
          }
        };
        await Promise.all(
          Array.from({ length: Math.min(STARTS_AT_ONCE, waiting.length) }, startNext),
        );
        if (failure !== undefined) throw failure.reason;
        return {
          kind: 'processes',
          brokers: [...request.brokers],
          sampledServices: ['auth', 'discovery', ...request.brokers],
          impairment: emulated.method,
          endpoint(name, fromHost) {
            const broker = running(name);
            return {
              name,
              mqttUrl: withCaFile(emulated.mqttUrl(name, fromHost), caPath),
              httpUrl: wordAfter(broker, 'http'),
            };
          },
          processIds: () => new Map([...services].map(([name, service]) => [name, service.pid])),
          linkBytes: () =>
            scrapeLinkBytes(
              request.brokers.flatMap((name) => {
                const broker = stopped.has(name) ? undefined : services.get(name);
                return broker === undefined ? [] : [[name, wordAfter(broker, 'http')] as const];
              }),
              fetchTrusting(trust),
            ),
          async stop(name) {
            await running(name).stop();
            stopped.add(name);
          },
          async kill(name) {
            await running(name).kill();
            stopped.add(name);
          },
          async restart(name) {
            known(name);
            if (!stopped.has(name)) await services.get(name)?.stop();
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
      } catch (error) {
        await close();
        throw error;
      }
    },
  };
}
