import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Progress } from '../harness/progress.ts';
import { startNodeProcess, wordAfter } from '../harness/topology/service-process.ts';
import { countEstablished, waitForEstablished } from './memory-phases.ts';
import { wsFloorLinksRun } from './ws-floor-links.ts';

const ctx = { progress: new Progress(), settleMs: 0, reads: 1 };

/** Server-side ends of established connections to `port`, from /proc/net/tcp. */
const established = async (port: number) =>
  countEstablished(await readFile('/proc/net/tcp', 'utf8'), port);

const WS_FLOOR = fileURLToPath(new URL('./ws-floor.ts', import.meta.url));

describe('the ws floor under a peer link (bench:memory)', () => {
  it('a dialer closes its warm-up connections, holds the first step, and tops up on SIGUSR2', async () => {
    const server = await startNodeProcess('server', [WS_FLOOR, 'serve']);
    try {
      const url = wordAfter(server, 'ws');
      const port = Number(new URL(url).port);
      const dialer = await startNodeProcess(
        'dialer',
        [WS_FLOOR, 'dial', url, '5', '3,7'],
        {},
        {
          readyLine: (line) => line.startsWith('held '),
        },
      );
      try {
        expect(dialer.lines.at(-1)).toBe('held 3');
        expect(await established(port)).toBe(3);
        process.kill(dialer.pid, 'SIGUSR2');
        await waitForEstablished([port], 7);
        expect(await established(port)).toBe(7);
      } finally {
        await dialer.stop();
      }
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('holds the step count of connections at the accepting end after the warm-up ones closed', async () => {
    const run = await wsFloorLinksRun(ctx, 'accepting', [0, 3], 2);
    expect(run.points.map((p) => p.x)).toEqual([0, 3]);
    // A Node process with a WebSocket server holds some MiB; 0 would mean nothing was read.
    expect(run.points.every((p) => p.y > 10_000)).toBe(true);
    expect(run.heapPoints.every((p) => p.y > 1_000)).toBe(true);
  }, 60_000);

  it('reads the dialer at each step of the dialing end', async () => {
    const run = await wsFloorLinksRun(ctx, 'dialing', [0, 1, 4], 1);
    expect(run.points.map((p) => p.x)).toEqual([0, 1, 4]);
    expect(run.perLinkKiB).toBeDefined();
    expect(run.points.every((p) => p.y > 10_000)).toBe(true);
  }, 60_000);
});
