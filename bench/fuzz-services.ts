import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { guardChild } from '../harness/topology/child-guard.ts';
import type { FuzzReady, FuzzReport, FuzzRequest } from './fuzz-wire.ts';

const SERVICES_SCRIPT = fileURLToPath(new URL('./fuzz-services-process.ts', import.meta.url));
const START_TIMEOUT_MS = 60_000;
/** [design] Generous: a loaded two-core machine can be slow, a hung service never answers. */
const HEALTH_TIMEOUT_MS = 10_000;
const HEALTH_INTERVAL_MS = 1_000;

export interface Memory {
  rss: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JavaScript ones, Buffers among them. */
  external: number;
}

/** A crash of the services process: it exited, threw, or a service stopped answering /healthz. */
export interface Crash {
  kind: 'exit' | 'uncaught' | 'healthz';
  detail: string;
}

/** The services process, seen from the fuzzer. */
export interface FuzzServices extends AsyncDisposable {
  readonly ready: FuzzReady;
  readonly crashes: readonly Crash[];
  /** Settles with the first crash. */
  readonly crashed: Promise<Crash>;
  /** Memory of the services process after two forced garbage collections. */
  memory(): Promise<Memory>;
  /** The tail of what the services logged (level error by default), to explain a failure. */
  logTail(): string;
  close(): Promise<void>;
}

/** Starts auth, discovery and broker b1 in a child process and watches it for crashes. */
export async function startFuzzServices(): Promise<FuzzServices> {
  const child: ChildProcess = spawn(process.execPath, ['--expose-gc', SERVICES_SCRIPT], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, MQFED_LOG_LEVEL: process.env.MQFED_LOG_LEVEL ?? 'error' },
  });
  // The IPC channel plays the stdin pipe's part: the services process exits when it closes.
  guardChild(child, { exitsWithStdin: true });
  const crashes: Crash[] = [];
  let firstCrash: (crash: Crash) => void = () => {};
  const crashed = new Promise<Crash>((resolve) => {
    firstCrash = resolve;
  });
  const crash = (value: Crash) => {
    crashes.push(value);
    firstCrash(value);
  };
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-16 * 1024);
  });
  let closing = false;
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  void exited.then(([code, signal]) => {
    if (!closing) crash({ kind: 'exit', detail: `exited with ${code ?? signal}` });
  });
  const listeners = new Set<(report: FuzzReport) => void>();
  child.on('message', (report: FuzzReport) => {
    if (report.type === 'uncaught') crash({ kind: 'uncaught', detail: report.error });
    for (const listener of listeners) listener(report);
  });
  const next = <T extends FuzzReport['type']>(type: T, timeoutMs: number) =>
    new Promise<Extract<FuzzReport, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`services sent no ${type} in ${timeoutMs} ms; log: ${log}`));
      }, timeoutMs);
      const listener = (report: FuzzReport) => {
        if (report.type !== type) return;
        listeners.delete(listener);
        clearTimeout(timer);
        resolve(report as Extract<FuzzReport, { type: T }>);
      };
      listeners.add(listener);
      void exited.then(() => {
        listeners.delete(listener);
        clearTimeout(timer);
        reject(new Error(`services exited; log: ${log}`));
      });
    });
  const request = (message: FuzzRequest) => {
    if (child.connected) child.send(message);
  };

  let ready: FuzzReady;
  try {
    ready = await next('ready', START_TIMEOUT_MS);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }

  const healthUrls = {
    auth: ready.authUrl,
    discovery: ready.discoveryUrl,
    broker: ready.brokerUrl,
  };
  const failing = new Set<string>();
  const probe = async () => {
    for (const [service, url] of Object.entries(healthUrls)) {
      const answered = await fetch(`${url}/healthz`, {
        signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      }).then(
        (response) => response.status === 200,
        () => false,
      );
      if (closing) return;
      // One crash per episode: a service that stops answering counts once until it answers.
      if (!answered && !failing.has(service)) {
        failing.add(service);
        crash({ kind: 'healthz', detail: `${service} stopped answering /healthz` });
      } else if (answered) failing.delete(service);
    }
  };
  let probing: Promise<void> = Promise.resolve();
  const health = setInterval(() => {
    probing = probing.then(probe);
  }, HEALTH_INTERVAL_MS);

  const close = async () => {
    if (closing) return;
    closing = true;
    clearInterval(health);
    await probing;
    if (child.exitCode === null && child.signalCode === null) {
      request({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  };

  return {
    ready,
    crashes,
    crashed,
    async memory() {
      request({ type: 'memory' });
      const { rss, heapUsed, external } = await next('memory', 30_000);
      return { rss, heapUsed, external };
    },
    logTail: () => log,
    close,
    [Symbol.asyncDispose]: close,
  };
}
