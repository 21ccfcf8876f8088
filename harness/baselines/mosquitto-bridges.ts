import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MqfedError } from '../../system/protocol/index.ts';
import { TestbedError } from '../testbed-error.ts';
import { guardChild } from '../topology/child-guard.ts';
import { freePort } from '../topology/free-port.ts';
import { requireMosquitto } from './mosquitto-binary.ts';

export interface MosquittoBridgesOptions {
  /** Broker names; the first is the hub every other broker bridges to. */
  brokers: readonly string[];
  host?: string;
  /** The mosquitto binary (default: what `requireMosquitto` finds). */
  binary?: string;
  /**
   * Where a spoke's bridge dials the hub: the hub's own address, or what this returns (an
   * emulated network link in front of it).
   */
  bridgeVia?: (
    spoke: string,
    hub: { host: string; port: number },
  ) => Promise<{ host: string; port: number }>;
  /** QoS of the bridges' subscriptions and forwards (default 0, as the testbed's baseline). */
  bridgeQos?: 0 | 1;
}

export interface MosquittoBridges extends AsyncDisposable {
  /** `mqtt://host:port` of each broker, by name. */
  readonly endpoints: ReadonlyMap<string, string>;
  /** The OS process of each running broker. */
  pids(): ReadonlyMap<string, number>;
  /** Kills one broker (SIGKILL), for fault scenarios. */
  kill(name: string): Promise<void>;
  /** Stops one broker cleanly (SIGTERM). */
  stop(name: string): Promise<void>;
  /** Starts a stopped broker again on its port and with its bridge, or stops and starts it. */
  restart(name: string): Promise<void>;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;
const STOP_GRACE_MS = 2_000;
/**
 * Every broker's config, after its listener line. [design] `set_tcp_nodelay`: Nagle's algorithm
 * off on client sockets, as on every mqfed socket, so the baseline is Mosquitto at its best, not
 * one held back by a default (without it, a delivery could wait for the previous one's ACK).
 */
const COMMON = [
  'set_tcp_nodelay true',
  'allow_anonymous true',
  'persistence false',
  'log_dest stderr',
  'log_type error',
  'log_type notice',
  'log_type information',
];

/**
 * The static-bridge baseline: real Mosquitto brokers joined the way operators join them today,
 * without discovery or interest. [design] A star, not a mesh: every broker bridges all topics
 * (`#`, both ways) to the first one. A mesh of `#` bridges loops messages in any cycle of three;
 * the star cannot, because Mosquitto's bridges (`try_private`) never send a message back over the
 * bridge it came from. Cross-broker messages take two hops through the hub unless one end is it.
 */
export async function startMosquittoBridges(
  options: MosquittoBridgesOptions,
): Promise<MosquittoBridges> {
  if (options.brokers.length === 0) {
    throw new MqfedError('INVALID_REQUEST', 'mosquitto bridges: name at least one broker');
  }
  const host = options.host ?? '127.0.0.1';
  const binary = options.binary ?? (await requireMosquitto()).path;
  const dir = await mkdtemp(join(tmpdir(), 'mqfed-mosquitto-'));
  const processes = new Map<string, ChildProcess>();
  const configs = new Map<string, string>();
  const endpoints = new Map<string, string>();
  const spawnBroker = async (name: string) => {
    const child = spawn(binary, ['-c', configs.get(name)!], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // Mosquitto cannot watch a pipe to its parent: a watchdog ends it if the harness dies.
    guardChild(child, { exitsWithStdin: false });
    processes.set(name, child);
    await waitUntilRunning(child, name);
  };
  const close = async () => {
    await Promise.all([...processes.values()].map((child) => stop(child, 'SIGTERM')));
    processes.clear();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const hub = options.brokers[0];
    let hubPort = 0;
    for (const name of options.brokers) {
      const bridge: string[] = [];
      if (name !== hub) {
        const hubAddress = { host, port: hubPort };
        const via = (await options.bridgeVia?.(name, hubAddress)) ?? hubAddress;
        bridge.push(
          `connection bridge-${name}-to-${hub}`,
          `address ${via.host}:${via.port}`,
          `remote_clientid bridge-${name}`,
          `topic # both ${options.bridgeQos ?? 0}`,
          'try_private true',
          'cleansession true',
          'notifications false',
          'restart_timeout 1',
        );
      }
      // Mosquitto needs a port number in its config, and a port found free may be taken by
      // someone else before Mosquitto binds it: then it is tried again on another.
      for (let attempt = 1; ; attempt += 1) {
        const port = await freePort(host);
        const config = join(dir, `${name}.conf`);
        await writeFile(
          config,
          `${[`listener ${port} ${host}`, ...COMMON, ...bridge].join('\n')}\n`,
        );
        configs.set(name, config);
        try {
          await spawnBroker(name);
        } catch (error) {
          if (attempt < PORT_ATTEMPTS && /Address already in use/.test(String(error))) continue;
          throw error;
        }
        if (name === hub) hubPort = port;
        endpoints.set(name, `mqtt://${host}:${port}`);
        break;
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  const signal = async (name: string, how: NodeJS.Signals) => {
    const child = processes.get(name);
    if (child !== undefined) await stop(child, how);
  };
  return {
    endpoints,
    pids: () =>
      new Map(
        [...processes]
          .filter(([, child]) => child.exitCode === null && child.signalCode === null)
          .map(([name, child]) => [name, child.pid ?? -1] as const),
      ),
    kill: (name) => signal(name, 'SIGKILL'),
    stop: (name) => signal(name, 'SIGTERM'),
    async restart(name) {
      if (!configs.has(name)) throw new TestbedError('SERVICE_NOT_RUNNING', `no broker ${name}`);
      await signal(name, 'SIGTERM');
      await spawnBroker(name);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Resolves when Mosquitto logs that it runs (a notice on stderr); fails if it exits first. */
async function waitUntilRunning(child: ChildProcess, name: string): Promise<void> {
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail('did not start in time'), READY_TIMEOUT_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(
        new TestbedError('SERVICE_START_FAILED', `mosquitto ${name} ${why}: ${stderr.trim()}`),
      );
    };
    const read = (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!/ running$/m.test(stderr)) return;
      clearTimeout(timer);
      // From here on the log is drained and dropped, so it cannot grow without bound.
      child.stderr?.off('data', read);
      child.stderr?.resume();
      resolve();
    };
    child.stderr?.on('data', read);
    child.once('exit', (code) => fail(`exited with ${code}`));
    child.once('error', (error) => fail(error.message));
  });
}

/**
 * Sends `signal` and waits for the exit. A SIGTERM that lands just as Mosquitto starts may not
 * wake its event loop for a long while (seen with 2.0.11, one stop in a few): after a grace
 * period it is killed.
 */
async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const escalate = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(escalate);
  }
}
