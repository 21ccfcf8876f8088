import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { freePort } from '../harness/topology/free-port.ts';

/**
 * A full garbage collection in a Node service from outside, through its inspector, and its heap
 * figures. [design] A service offers no way to collect its garbage on demand, and its resident
 * set moves by megabytes with garbage not collected yet and with the young generation growing
 * at a burst: readings taken after a forced collection differ by what is held, not by when V8
 * last ran. The service is started with `--inspect-port=<port>` in NODE_OPTIONS (which opens
 * nothing); SIGUSR1 then opens the inspector on loopback at that port, for this process only,
 * so brokers sharing the option do not contend for it.
 */
export interface ServiceInspector {
  /** Collects garbage (twice: what the first frees may hold more) and waits for it. */
  collect(): Promise<void>;
  /** The service's `process.memoryUsage()`, KiB. */
  memory(): Promise<{ rssKiB: number; heapUsedKiB: number; externalKiB: number }>;
  /** Any inspector method, for what the two above do not cover (a sampling heap profile). */
  call(method: string, params?: object): Promise<unknown>;
  close(): Promise<void>;
}

/** NODE_OPTIONS for a service whose inspector `openInspector` may open later. */
export async function inspectorOption(): Promise<{ port: number; nodeOptions: string }> {
  const port = await freePort('127.0.0.1');
  return { port, nodeOptions: `--inspect-port=127.0.0.1:${port}` };
}

export async function openInspector(pid: number, port: number): Promise<ServiceInspector> {
  process.kill(pid, 'SIGUSR1');
  const deadline = Date.now() + 30_000;
  let target: string | undefined;
  while (target === undefined) {
    try {
      const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
        webSocketDebuggerUrl: string;
      }[];
      target = list[0]?.webSocketDebuggerUrl;
    } catch {
      if (Date.now() > deadline) throw new Error(`no inspector of ${pid} at port ${port}`);
      await sleep(200);
    }
  }
  const ws = new WebSocket(target, { perMessageDeflate: false });
  await once(ws, 'open');
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    if (message.id === undefined) return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiting?.reject(new Error(message.error.message));
    else waiting?.resolve(message.result);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  return {
    call,
    async collect() {
      await call('HeapProfiler.collectGarbage');
      await call('HeapProfiler.collectGarbage');
    },
    async memory() {
      const result = (await call('Runtime.evaluate', {
        expression: 'JSON.stringify(process.memoryUsage())',
        returnByValue: true,
      })) as { result: { value: string } };
      const usage = JSON.parse(result.result.value) as NodeJS.MemoryUsage;
      const kib = (bytes: number) => Math.round(bytes / 1024);
      return {
        rssKiB: kib(usage.rss),
        heapUsedKiB: kib(usage.heapUsed),
        externalKiB: kib(usage.external),
      };
    },
    async close() {
      ws.close();
      await once(ws, 'close').catch(() => undefined);
    },
  };
}
