import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { guardChild } from '../harness/topology/child-guard.ts';

const SCRIPT = fileURLToPath(new URL('./idle-clients.ts', import.meta.url));

export interface IdleClientsRequest {
  /** mqtt://host:port of the broker. */
  url: string;
  clients: number;
  /** Child processes the clients are spread over. */
  generators: number;
  /** Each client subscribes to one of this many topics; 0: none. */
  topics: number;
  /** Unique per request, so two batches never share a client id (a takeover would follow). */
  idPrefix: string;
  /** How far along: clients with their CONNACK so far. */
  onProgress?: (connected: number) => void;
  /** Connecting and subscribing every client must take no longer. */
  timeoutMs: number;
}

export interface IdleClients {
  connected: number;
  refused: number;
  /** Ends the generators: every client's socket closes. */
  close(): Promise<void>;
}

/** Splits `total` into `parts` near-equal shares (the first ones one larger). */
export function shares(total: number, parts: number): number[] {
  const n = Math.max(1, Math.min(parts, Math.max(total, 1)));
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/**
 * Idle clients held by child processes (bench/idle-clients.ts), resolved once every one of them
 * answered: taken (CONNACK, SUBACK) or refused. [design] The children end with their stdin, so
 * none outlives the bench however it ends.
 */
export async function holdIdleClients(request: IdleClientsRequest): Promise<IdleClients> {
  const children = shares(request.clients, request.generators).map((count, g) => {
    const child = spawn(
      process.execPath,
      [
        SCRIPT,
        '--url',
        request.url,
        '--count',
        String(count),
        '--prefix',
        `${request.idPrefix}-${g}`,
        '--topics',
        String(request.topics),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    guardChild(child, { exitsWithStdin: true });
    return child;
  });
  const close = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.stdin?.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  };
  const progress = children.map(() => 0);
  try {
    const results = await Promise.race([
      Promise.all(
        children.map(
          (child, g) =>
            new Promise<{ connected: number; refused: number }>((resolve, reject) => {
              createInterface({ input: child.stdout! }).on('line', (line) => {
                const [word, a, b] = line.split(' ');
                if (word === 'progress') {
                  progress[g] = Number(a);
                  request.onProgress?.(progress.reduce((sum, n) => sum + n, 0));
                } else if (word === 'ready') {
                  resolve({ connected: Number(a), refused: Number(b) });
                }
              });
              child.once('exit', (code) =>
                reject(new Error(`idle-client generator exited with ${code}`)),
              );
            }),
        ),
      ),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`idle clients not all answered within ${request.timeoutMs} ms`)),
          request.timeoutMs,
        ).unref(),
      ),
    ]);
    return {
      connected: results.reduce((sum, r) => sum + r.connected, 0),
      refused: results.reduce((sum, r) => sum + r.refused, 0),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
