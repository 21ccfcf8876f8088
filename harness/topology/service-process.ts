import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TestbedError } from '../testbed-error.ts';
import { EXIT_WITH_HARNESS_ENV, guardChild } from './child-guard.ts';

const MQFED_BIN = fileURLToPath(new URL('../../bin/mqfed.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** One service running as its own Node process: an mqfed service through the `mqfed` CLI. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** The first line the service printed (its URLs), split into words. */
  readonly words: readonly string[];
  /** Every line printed up to the one that said it is up (the first one, unless `readyLine`). */
  readonly lines: readonly string[];
  /** SIGTERM (clean shutdown) and wait; SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL at once: a crash, for fault scenarios. */
  kill(): Promise<void>;
}

/**
 * Spawns `mqfed <args>` and resolves with the first line it prints on stdout, which every
 * service prints once it listens. Its stderr (structured logs) is kept to explain a failure.
 * `env` carries what must not show on a command line (`/proc/<pid>/cmdline` is world-readable;
 * a process's environment is readable by its owner only): secrets and credentials. The service
 * ends with the harness, however the harness ends (child-guard.ts).
 */
export function startServiceProcess(
  name: string,
  args: string[],
  env: Readonly<Record<string, string>> = {},
  options: StartOptions = {},
): Promise<ServiceProcess> {
  return startNodeProcess(name, [MQFED_BIN, ...args], env, options);
}

export interface StartOptions {
  /**
   * The line that says the service is up, for a command that prints several first (`mqfed up`
   * prints one per service, then `ready`). Default: the first line.
   */
  readyLine?: (line: string) => boolean;
}

/**
 * Spawns `node <args>` (a script and its flags) and treats it as startServiceProcess does: its
 * first stdout line says it is up, and it ends with the harness. The script must exit when its
 * stdin closes (as `mqfed` services do with EXIT_WITH_HARNESS_ENV), or it may outlive a harness
 * killed outright.
 */
export async function startNodeProcess(
  name: string,
  args: string[],
  env: Readonly<Record<string, string>> = {},
  options: StartOptions = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, args, {
    // stdin: a pipe nobody writes to; it closes when the harness dies, and the service exits.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      MQFED_LOG_LEVEL: process.env.MQFED_LOG_LEVEL ?? 'warn',
      ...EXIT_WITH_HARNESS_ENV,
      ...env,
    },
  });
  guardChild(child, { exitsWithStdin: true });
  const logTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    logTail.push(line);
    if (logTail.length > 20) logTail.shift();
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = options.readyLine ?? (() => true);
  const printed: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new TestbedError('SERVICE_START_FAILED', `${name} ${why}: ${logTail.join(' | ')}`));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail('did not start in time');
    }, START_TIMEOUT_MS);
    const onLine = (line: string) => {
      printed.push(line);
      if (!ready(line)) return;
      lines.off('line', onLine);
      clearTimeout(timer);
      resolve();
    };
    lines.on('line', onLine);
    child.once('exit', (code) => fail(`exited with ${code}`));
    child.once('error', (error) => fail(error.message));
  });
  // Later lines are not needed; keep the pipe drained.
  lines.on('line', () => {});
  return {
    name,
    pid: child.pid ?? -1,
    words: printed[0]!.split(' '),
    lines: printed,
    stop: () => stopChild(child, 'SIGTERM'),
    kill: () => stopChild(child, 'SIGKILL'),
  };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
  child.stdin?.destroy();
}

/** The word after `key` in a service's first line, e.g. `mqtt` → its MQTT URL. */
export function wordAfter(service: ServiceProcess, key: string): string {
  const index = service.words.indexOf(key);
  const value = index < 0 ? undefined : service.words[index + 1];
  if (value === undefined) {
    throw new TestbedError(
      'SERVICE_START_FAILED',
      `${service.name} printed no ${key}: ${service.words.join(' ')}`,
    );
  }
  return value;
}
