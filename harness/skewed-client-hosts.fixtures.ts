import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { type ClientHostServer, startClientHostServer } from './topology/client-host-server.ts';
import { startServiceProcess } from './topology/service-process.ts';
import type { StartedTopology, Topology } from './topology/topology.ts';

const WORKER_URL = new URL('./workload/client-host-worker.fixtures.ts', import.meta.url);

/** A client host started by a test, with its clock skewed. */
export interface SkewedClientHost {
  /** Steps the host's clock to read `skewMs` off the machine's; resolves once it does. */
  setSkew?(skewMs: number): Promise<void>;
  /** Ends it (the agent ends its clients when the harness hangs up first). */
  close(): Promise<void>;
}

/** A client host running in a worker thread, with its clock skewed by the test. */
export interface ClientHostThread extends SkewedClientHost, AsyncDisposable {
  setSkew(skewMs: number): Promise<void>;
}

/** Starts one client host dialling `url`, its clock `skewMs` off the machine's. */
export type ClientHostLauncher = (url: string, skewMs: number) => Promise<SkewedClientHost>;

export const inThread: ClientHostLauncher = async (url, skewMs) =>
  startClientHostThread(url, skewMs);

/**
 * The real `mqfed client-host` command in a process of its own, skewed by the testing aid's
 * variable MQFED_CLOCK_SKEW_MS; resolves once it has dialled the harness.
 */
export const inProcess: ClientHostLauncher = async (url, skewMs) => {
  const child = await startServiceProcess('client host', ['client-host', '--harness', url], {
    MQFED_CLOCK_SKEW_MS: String(skewMs),
  });
  return { close: () => child.stop() };
};

/** Starts the real client host agent in a worker thread, dialling `url`, its clock `skewMs` off. */
export function startClientHostThread(url: string, skewMs: number): ClientHostThread {
  const worker = new Worker(WORKER_URL, { workerData: { url, skewMs } });
  const exited = once(worker, 'exit');
  const close = async () => {
    if (worker.threadId === -1) return; // already exited
    await worker.terminate();
    await exited.catch(() => undefined);
  };
  return {
    async setSkew(next) {
      const done = new Promise<void>((resolve) => {
        const listener = (message: { skewed?: number }) => {
          if (message.skewed !== next) return;
          worker.off('message', listener);
          resolve();
        };
        worker.on('message', listener);
      });
      worker.postMessage({ skewMs: next });
      await done;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * `inner` with each client host of a run's request started by `launch` (a worker thread of its
 * own by default), dialling a client host server of the harness, its clock skewed by
 * `skews[host]` ms (0 where unnamed). `onStarted` gets each run's hosts, to step a clock mid-run.
 */
export function withSkewedClientHosts(
  inner: Topology,
  skews: Readonly<Record<string, number>>,
  launch: ClientHostLauncher = inThread,
  onStarted?: (hosts: ReadonlyMap<string, SkewedClientHost>) => void,
): Topology {
  return {
    kind: inner.kind,
    async start(request) {
      const started = await inner.start(request);
      let server: ClientHostServer | undefined;
      const threads = new Map<string, SkewedClientHost>();
      const hosts = new Map<string, Awaited<ReturnType<ClientHostServer['connected']>>>();
      const close = async () => {
        await server?.close();
        await Promise.all([...threads.values()].map((thread) => thread.close()));
        await started.close();
      };
      try {
        server = await startClientHostServer('127.0.0.1');
        const listening = server;
        // Settled, not raced: a host still starting when another fails is closed too.
        const launched = await Promise.allSettled(
          (request.clientHosts ?? []).map(async (host) => {
            threads.set(host, await launch(listening.urlFor(host), skews[host] ?? 0));
            hosts.set(host, await listening.connected(host));
          }),
        );
        const failed = launched.find((outcome) => outcome.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
      } catch (error) {
        await close();
        throw error;
      }
      onStarted?.(threads);
      const wrapped: StartedTopology = {
        ...started,
        clients: (host) => hosts.get(host),
        close,
        [Symbol.asyncDispose]: close,
      };
      return wrapped;
    },
  };
}
