import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Test helpers that run the real `mqfed` binary as a child process. */

export const mqfedBin = fileURLToPath(new URL('../../bin/mqfed.js', import.meta.url));

/**
 * The environment without MQFED_* variables, so the machine running the tests cannot leak in,
 * plus `extra`; a variable `extra` sets to undefined is left out. Services run plain
 * (MQFED_INSECURE) unless `extra` removes it: the TLS tests do, with their own MQFED_TLS_DIR, so
 * no test makes a CA in the working directory.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries({ ...process.env, ...extra }).filter(
      ([name, value]) => value !== undefined && !(name.startsWith('MQFED_') && !(name in extra)),
    ),
  );
  if (!('MQFED_INSECURE' in extra)) env.MQFED_INSECURE = '1';
  return env;
}

export interface MqfedResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `mqfed <args>` to completion and collects its output. */
export function mqfed(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<MqfedResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [mqfedBin, ...args],
      { env: cleanEnv(env), timeout: 15_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : ((error as { code?: number }).code ?? null),
          stdout,
          stderr,
        });
      },
    );
  });
}

export interface RunningMqfed {
  child: ChildProcessWithoutNullStreams;
  /** The next line the process prints on stdout. */
  nextLine(): Promise<string>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }>;
  /** What the process wrote on stderr so far (its logs). */
  stderr(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a long-running `mqfed <args>`; disposing it kills the process if it still runs. It also
 * ends when the test process does, however that ends (a worker torn down after a timeout never
 * gets to dispose): its stdin is a pipe from here, and MQFED_EXIT_WITH_STDIN makes a service
 * shut down once that pipe closes. Set it to undefined in `env` to leave it out.
 */
export function spawnMqfed(
  args: string[],
  env: Record<string, string | undefined> = {},
): RunningMqfed {
  const child = spawn(process.execPath, [mqfedBin, ...args], {
    env: cleanEnv({ MQFED_LOG_LEVEL: 'warn', MQFED_EXIT_WITH_STDIN: '1', ...env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const [code, exitSignal] = await exited;
    return { code, signal: exitSignal };
  };
  return {
    child,
    async nextLine() {
      const next = await lines.next();
      if (next.done === true) throw new Error(`mqfed ended its output; stderr: ${stderr}`);
      return next.value;
    },
    stop,
    stderr: () => stderr,
    async [Symbol.asyncDispose]() {
      await stop('SIGKILL');
    },
  };
}

export { tempDir } from '../common/testing.ts';
