import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthClient } from '../../system/auth/index.ts';
import { type EmulatedNetwork, emulateNetwork, routingArgs } from '../network/emulated-network.ts';
import { brokerLookup } from './broker-lookup.ts';
import { type ServiceProcess, startServiceProcess, wordAfter } from './service-process.ts';
import type { StartedTopology, Topology, TopologyRequest } from './topology.ts';

export interface ProcessesTopologyOptions {
  /** Extra `mqfed broker` flags for every broker, e.g. ['--link-idle-grace', '1s']. */
  brokerArgs?: readonly string[];
}

/**
 * Every service its own OS process through the `mqfed` CLI: the paper's single-machine setup.
 * [design] The harness talks to them only as any operator would: command lines, printed URLs,
 * HTTP. Brokers are registered over the auth service's admin API with a per-run credential.
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
      try {
        const auth = await startServiceProcess('auth', [
          'auth',
          '--port',
          '0',
          '--data-dir',
          dataDir,
          '--admin-credential',
          adminCredential,
        ]);
        services.set('auth', auth);
        const authUrl = wordAfter(auth, 'auth');
        const discovery = await startServiceProcess('discovery', [
          'discovery',
          '--auth-url',
          authUrl,
          '--port',
          '0',
        ]);
        services.set('discovery', discovery);
        const discoveryUrl = wordAfter(discovery, 'discovery');
        const admin = createAuthClient({ url: authUrl });
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
            mqtt: (name) => wordAfter(running(name), 'mqtt'),
          },
          { random: request.random },
        );
        network = emulated;
        /** MQTT ports of brokers that ran: a restarted broker comes back on its own. */
        const mqttPorts = new Map<string, string>();
        const startBroker = async (name: string) => {
          const secret = secrets.get(name) as string;
          const routing = emulated.routing(name);
          const broker = await startServiceProcess(`broker ${name}`, [
            'broker',
            '--id',
            name,
            '--secret',
            secret,
            ...routingArgs(routing),
            // [design] Where it listened before, as a restarted server would: clients that
            // reconnect on their own (fault scenarios) keep the address they had.
            '--mqtt-port',
            mqttPorts.get(name) ?? '0',
            '--http-port',
            '0',
            ...(options.brokerArgs ?? []),
          ]);
          services.set(name, broker);
          mqttPorts.set(name, new URL(wordAfter(broker, 'mqtt')).port);
        };
        for (const name of request.brokers) {
          const { secret } = await admin.registerService(adminCredential, {
            id: name,
            role: 'broker',
            topics: { pub: ['#'], sub: ['#'] },
          });
          secrets.set(name, secret);
          await startBroker(name);
        }
        return {
          kind: 'processes',
          brokers: [...request.brokers],
          sampledServices: ['auth', 'discovery', ...request.brokers],
          impairment: emulated.method,
          endpoint(name, fromHost) {
            running(name);
            return { name, mqttUrl: emulated.mqttUrl(name, fromHost) };
          },
          processIds: () => new Map([...services].map(([name, service]) => [name, service.pid])),
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
