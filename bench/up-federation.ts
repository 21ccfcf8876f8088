import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestbedError } from '../harness/testbed-error.ts';
import { scrapeLinkBytes } from '../harness/topology/broker-metrics.ts';
import { startServiceProcess } from '../harness/topology/service-process.ts';
import type { StartedTopology } from '../harness/topology/topology.ts';
import { UP_PROCESS } from './paths.ts';

/**
 * The federation as `mqfed up` runs it: auth, discovery and two brokers in one process, sharing
 * one event loop, started through the CLI as a user would (plain text, MQTT on free ports, a
 * data directory of its own). The bench's names `a` and `b` are its brokers `b1` and `b2`.
 * [design] The bench's other federations give each service a process (the processes topology);
 * this one answers whether the services `mqfed up` starts should share one: the CPU figures
 * then are the whole process's, auth and discovery included, which are idle during a run.
 * No broker declares a topic space here: b2 links to b1 once b1
 * advertises the topic its publisher uses, which a run's probes wait for.
 */
export async function startUpFederation(
  names: readonly [string, string],
  env: Readonly<Record<string, string>>,
): Promise<StartedTopology> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mqfed-up-'));
  const close = async () => {
    await up?.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  let up: Awaited<ReturnType<typeof startServiceProcess>> | undefined;
  try {
    up = await startServiceProcess(
      UP_PROCESS,
      ['up', '--brokers', '2', '--insecure', '--mqtt-port', '0', '--data-dir', dataDir],
      env,
      { readyLine: (line) => line === 'ready' },
    );
  } catch (error) {
    await close();
    throw error;
  }
  const started = up;
  // `broker b1 mqtt mqtt://… http http://… link ws://…/peer`, in start order.
  const brokers = started.lines.flatMap((line) => {
    const words = line.split(' ');
    if (words[0] !== 'broker') return [];
    const after = (key: string) => words[words.indexOf(key) + 1] ?? '';
    return [{ mqttUrl: after('mqtt'), httpUrl: after('http') }];
  });
  if (brokers.length !== 2) {
    await close();
    throw new TestbedError('SERVICE_START_FAILED', `mqfed up printed ${brokers.length} brokers`);
  }
  const byName = new Map(names.map((name, index) => [name, brokers[index]!]));
  const endpointOf = (name: string) => {
    const broker = byName.get(name);
    if (broker === undefined)
      throw new TestbedError('SERVICE_NOT_RUNNING', `no broker ${name} in mqfed up`);
    return broker;
  };
  const unsupported = () => {
    throw new TestbedError('UNSUPPORTED_BY_TOPOLOGY', 'the bench does not stop mqfed up brokers');
  };
  return {
    kind: 'processes',
    brokers: [...names],
    sampledServices: [UP_PROCESS],
    impairment: 'none',
    endpoint: (name) => ({ name, ...endpointOf(name) }),
    processIds: () => new Map([[UP_PROCESS, started.pid]]),
    linkBytes: () => scrapeLinkBytes(names.map((name) => [name, endpointOf(name).httpUrl])),
    // `mqfed up` keeps each broker's data in <data-dir>/auth/brokers/<id>.
    dataDir: (name) => join(dataDir, 'auth', 'brokers', `b${names.indexOf(name) + 1}`),
    stop: unsupported,
    kill: unsupported,
    restart: unsupported,
    close,
    [Symbol.asyncDispose]: close,
  };
}
