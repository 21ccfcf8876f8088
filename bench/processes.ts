import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** A Node script started as a child process and the stdout line that says it is ready. */
export interface ServiceSpec {
  /** Short name for messages and CPU figures, e.g. `broker-a`. */
  name: string;
  /** Arguments after `node`: the script and its flags. */
  args: string[];
  /** The first stdout line matching this means the service is up; its groups are the URLs. */
  ready: RegExp;
  /** Extra environment, used for secrets so they never show in `ps`. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface StartedService {
  name: string;
  pid: number;
  match: RegExpMatchArray;
}

interface Child {
  name: string;
  child: ChildProcess;
  /** The last lines the child printed, quoted when it fails. */
  tail: string[];
}

const TAIL_LINES = 30;
const STOP_GRACE_MS = 5_000;

/**
 * The child processes of one bench run. Every child is tracked from the moment it is spawned, so
 * whatever goes wrong (a failed start, an error mid-run, Ctrl-C) `stopAll` can end them all: each
 * gets SIGTERM (the services shut down cleanly on it), then SIGKILL if it has not exited within
 * the grace period. Children run in their own process group, so a Ctrl-C in the terminal reaches
 * only the bench, which then stops them in order instead of all at once.
 */
export class ProcessGroup {
  readonly #children: Child[] = [];
  #stopping: Promise<void> | undefined;

  /** Starts a long-running child and resolves with the match of its ready line. */
  async start(spec: ServiceSpec): Promise<StartedService> {
    const entry = this.#spawn(spec);
    const lines = createInterface({ input: entry.child.stdout! });
    try {
      const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(failure(entry, `printed no ready line within ${timeoutOf(spec)} ms`)),
          timeoutOf(spec),
        );
        // Lines keep being read after the ready one: a child blocked on a full pipe would stall.
        lines.on('line', (line) => {
          remember(entry, line);
          const found = line.match(spec.ready);
          if (found !== null) {
            clearTimeout(timer);
            resolve(found);
          }
        });
        entry.child.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(failure(entry, `exited (${signal ?? code}) before it was ready`));
        });
      });
      return { name: spec.name, pid: entry.child.pid!, match };
    } catch (error) {
      await this.#stop(entry);
      throw error;
    }
  }

  /** Runs a short-lived child (e.g. `mqfed auth register`) to completion; resolves with stdout. */
  async run(spec: Omit<ServiceSpec, 'ready'>): Promise<string> {
    const entry = this.#spawn(spec);
    let stdout = '';
    entry.child.stdout!.setEncoding('utf8');
    entry.child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
    });
    const timer = setTimeout(() => entry.child.kill('SIGKILL'), timeoutOf(spec));
    // 'close', not 'exit': it comes once stdout has been read to its end.
    const [code, signal] = (await once(entry.child, 'close')) as [number | null, string | null];
    clearTimeout(timer);
    if (code !== 0) throw failure(entry, `exited (${signal ?? code})`);
    return stdout;
  }

  /** Process ids by name, of the children still running. */
  pids(): Map<string, number> {
    const pids = new Map<string, number>();
    for (const { name, child } of this.#children) {
      if (isRunning(child) && child.pid !== undefined) pids.set(name, child.pid);
    }
    return pids;
  }

  /** Stops every child, newest first (brokers before discovery before auth); safe to call twice. */
  stopAll(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const entry of [...this.#children].reverse()) await this.#stop(entry);
    })();
    return this.#stopping;
  }

  /** Last resort from a `process.on('exit')` handler, which cannot wait: SIGKILL what is left. */
  killAllNow(): void {
    for (const { child } of this.#children) if (isRunning(child)) child.kill('SIGKILL');
  }

  #spawn(spec: Omit<ServiceSpec, 'ready'>): Child {
    const child = spawn(process.execPath, spec.args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...spec.env },
      detached: true,
    });
    const entry: Child = { name: spec.name, child, tail: [] };
    this.#children.push(entry);
    // Without a listener a failed spawn would throw; 'exit' or the timeout reports it instead.
    child.on('error', (error) => remember(entry, String(error)));
    createInterface({ input: child.stderr! }).on('line', (line) => remember(entry, line));
    return entry;
  }

  async #stop({ child }: Child): Promise<void> {
    if (!isRunning(child)) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    // The relay exits when its stdin closes; the services ignore it. Closing frees the pipes.
    child.stdin?.destroy();
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

function timeoutOf(spec: { timeoutMs?: number }): number {
  return spec.timeoutMs ?? 30_000;
}

function remember(entry: Child, line: string): void {
  entry.tail.push(line);
  if (entry.tail.length > TAIL_LINES) entry.tail.shift();
}

function failure(entry: Child, what: string): Error {
  const tail = entry.tail.length === 0 ? '' : `\n  ${entry.tail.join('\n  ')}`;
  return new Error(`${entry.name} ${what}${tail}`);
}
