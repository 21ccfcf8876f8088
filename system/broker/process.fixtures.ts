import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createAuthClient } from '../auth/index.ts';
import type { LocalFederation } from './local-federation.ts';

/**
 * A broker service in a child process, started with the real `mqfed broker` binary, so a test can
 * kill it the way an operating system would (SIGKILL: no deregistration, no close frames).
 * The few lines it needs of system/cli/cli.fixtures.ts are copied: broker tests do not import cli.
 */

const mqfedBin = fileURLToPath(new URL('../../bin/mqfed.js', import.meta.url));

/** The environment without MQFED_* variables, so the machine running the tests cannot leak in. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('MQFED_')),
  );
  return { ...env, ...extra };
}

export interface BrokerProcessOptions {
  id: string;
  secret: string;
  authUrl: string;
  discoveryUrl: string;
  /** More `mqfed broker` flags, e.g. `['--lease-ttl', '1s']`. */
  args?: string[];
  /** How long to wait for the line the broker prints once it listens. */
  startTimeoutMs?: number;
}

export interface BrokerProcess extends AsyncDisposable {
  readonly id: string;
  readonly pid: number;
  readonly mqttUrl: string;
  /** Base URL of its HTTP server (`/metrics`, `/healthz`). */
  readonly url: string;
  readonly linkUrl: string;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }>;
  /** What the process wrote on stderr so far (its logs), for failure messages. */
  stderr(): string;
}

const STARTED = /^broker (\S+) mqtt (\S+)(?: mqtt-ws \S+)? http (\S+) link (\S+)$/;

/** Starts `mqfed broker --id <id> ... --mqtt-port 0 --http-port 0` and waits until it listens. */
export async function spawnBroker(options: BrokerProcessOptions): Promise<BrokerProcess> {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [
      mqfedBin,
      'broker',
      '--id',
      options.id,
      '--auth-url',
      options.authUrl,
      '--discovery-url',
      options.discoveryUrl,
      '--mqtt-port',
      '0',
      '--http-port',
      '0',
      ...(options.args ?? []),
    ],
    {
      // The secret by environment, never on the command line (`ps` shows that to everyone); the
      // broker exits when this test process ends, however it ends (its stdin pipe closes).
      env: cleanEnv({
        // Plain, as the in-process federations of the broker tests are.
        MQFED_INSECURE: '1',
        MQFED_LOG_LEVEL: 'warn',
        MQFED_BROKER_SECRET: options.secret,
        MQFED_EXIT_WITH_STDIN: '1',
      }),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    // Keep the tail only: a long test must not grow this without bound.
    stderr = (stderr + chunk.toString()).slice(-64 * 1024);
  });
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const [code, exitSignal] = await exited;
    return { code, signal: exitSignal };
  };

  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`broker ${options.id} did not start in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
    if (first.done === true) throw new Error(`broker ${options.id} ended its output`);
    const match = STARTED.exec(first.value);
    if (match === null) throw new Error(`unexpected first line: ${first.value}`);
    const [, id, mqttUrl, url, linkUrl] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (id !== options.id) throw new Error(`started broker ${id}, not ${options.id}`);
    return {
      id,
      pid: child.pid!,
      mqttUrl,
      url,
      linkUrl,
      kill,
      stderr: () => stderr,
      async [Symbol.asyncDispose]() {
        await kill('SIGKILL');
      },
    };
  } catch (error) {
    await kill('SIGKILL');
    throw new Error(`${(error as Error).message}; stderr: ${stderr}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registers broker `id` (scopes `#` both ways) with the federation's auth service and returns
 * the options that start it as a process against that federation.
 */
export async function registeredBrokerProcess(
  federation: LocalFederation,
  id: string,
  args: string[] = [],
): Promise<BrokerProcessOptions> {
  const admin = createAuthClient({ url: federation.auth.url });
  const { secret } = await admin.registerService(federation.auth.adminCredential, {
    id,
    role: 'broker',
    topics: { pub: ['#'], sub: ['#'] },
  });
  return { id, secret, authUrl: federation.auth.url, discoveryUrl: federation.discovery.url, args };
}
