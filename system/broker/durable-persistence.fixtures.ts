import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';

/**
 * Brokers on the durable persistence in child processes, to SIGKILL, and MQTT clients to talk to
 * them. A child must never outlive the test: `killDurableBrokers()` in afterEach kills what a
 * test left running, whether it passed or failed; the 'exit' handler below kills them if this
 * process exits first; and a child exits by itself when its stdin pipe, held only by this
 * process, closes (this process was SIGKILLed). The same three layers as
 * harness/topology/child-guard.ts, which system/ may not import.
 */

const childScript = fileURLToPath(new URL('./durable-persistence.child.ts', import.meta.url));
const running = new Set<ChildProcessWithoutNullStreams>();

function killRunningNow(): void {
  for (const child of running) child.kill('SIGKILL');
}

export interface DurableBroker extends AsyncDisposable {
  readonly url: string;
  readonly pid: number;
  /** Sends `signal` (SIGKILL unless told) and waits until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves once the broker has printed a line matching `pattern` (see the child's header). */
  printed(pattern: RegExp): Promise<void>;
  stderr(): string;
}

export async function spawnDurableBroker(options: {
  path: string;
  /** aedes' heartbeatInterval; its will sweep runs every four of them. */
  heartbeatIntervalMs?: number;
}): Promise<DurableBroker> {
  const child = spawn(
    process.execPath,
    [childScript, options.path, String(options.heartbeatIntervalMs ?? 60_000)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  if (running.size === 0) process.on('exit', killRunningNow);
  running.add(child);
  // Settles when the process is gone; a failure to spawn counts as gone (stderr tells why).
  const exited = once(child, 'exit')
    .then(
      () => undefined,
      () => undefined,
    )
    .finally(() => {
      running.delete(child);
      if (running.size === 0) process.off('exit', killRunningNow);
    });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-64 * 1024);
  });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  const lines: string[] = [];
  const waiting = new Set<{ pattern: RegExp; resolve: () => void }>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const wait of waiting) {
      if (wait.pattern.test(line)) {
        waiting.delete(wait);
        wait.resolve();
      }
    }
  });
  const printed = (pattern: RegExp) =>
    lines.some((line) => pattern.test(line))
      ? Promise.resolve()
      : Promise.race([
          new Promise<void>((resolve) => waiting.add({ pattern, resolve })),
          exited.then(() => {
            throw new Error(`the broker exited before printing ${pattern}: ${stderr}`);
          }),
        ]);
  try {
    await printed(/^listening \d+$/);
    const port = /^listening (\d+)$/.exec(lines.find((line) => line.startsWith('listening '))!)![1];
    return {
      url: `mqtt://127.0.0.1:${port}`,
      pid: child.pid!,
      kill,
      printed,
      stderr: () => stderr,
      [Symbol.asyncDispose]: () => kill(),
    };
  } catch (error) {
    await kill();
    throw error;
  }
}

/** Kills every broker still running; for afterEach. */
export async function killDurableBrokers(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const exited = once(child, 'exit');
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      else return;
      await exited;
    }),
  );
}

export interface Connected {
  client: MqttClient;
  connack: IConnackPacket;
}

const clients = new Set<MqttClient>();

/**
 * Connects an MQTT 3.1.1 client that does not reconnect by itself. `prepare` runs before the
 * connection starts, to attach listeners that must not miss what arrives with the CONNACK.
 */
export async function connectClient(
  url: string,
  options: IClientOptions,
  prepare?: (client: MqttClient) => void,
): Promise<Connected> {
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...options });
  clients.add(client);
  prepare?.(client);
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  return { client, connack };
}

/** Ends every client at once (its broker may be dead); for afterEach. */
export async function endClients(): Promise<void> {
  await Promise.all([...clients].map((client) => client.endAsync(true)));
  clients.clear();
}

export interface Received {
  topic: string;
  payload: string;
  messageId: number | undefined;
  retain: boolean;
}

/** Collects what `client` receives; `until(n)` resolves once n messages have arrived. */
export function collectMessages(client: MqttClient): {
  readonly messages: Received[];
  until(count: number): Promise<Received[]>;
} {
  const messages: Received[] = [];
  const waiting: { count: number; resolve: (messages: Received[]) => void }[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({
      topic,
      payload: payload.toString(),
      messageId: packet.messageId,
      retain: packet.retain,
    });
    for (const wait of waiting.filter((w) => messages.length >= w.count)) {
      waiting.splice(waiting.indexOf(wait), 1);
      wait.resolve(messages.slice());
    }
  });
  return {
    messages,
    until: (count) =>
      messages.length >= count
        ? Promise.resolve(messages.slice())
        : new Promise((resolve) => waiting.push({ count, resolve })),
  };
}
