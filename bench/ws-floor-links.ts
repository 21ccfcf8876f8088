import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startNodeProcess, wordAfter } from '../harness/topology/service-process.ts';
import {
  type LinkEnd,
  type LinksRun,
  linksRunOf,
  type PhaseContext,
  type Probe,
  type Reading,
  read,
  waitForEstablished,
} from './memory-phases.ts';
import { inspectorOption, openInspector } from './service-gc.ts';

const WS_FLOOR = fileURLToPath(new URL('./ws-floor.ts', import.meta.url));

/**
 * The floor under a peer link at one end (bench/ws-floor.ts): bare `ws` connections between two
 * Node processes, stepped up as the mqfed hub's links are. One server and one dialer for the
 * whole run; the dialer opens and drops `warm` connections first, then holds each step's count
 * (topped up on SIGUSR2), and each step waits until the server holds that many established
 * connections. Dialing: the dialer is read; accepting: the server is.
 */
export async function wsFloorLinksRun(
  ctx: PhaseContext,
  end: LinkEnd,
  steps: readonly number[],
  warm: number,
): Promise<LinksRun> {
  const readings: (Reading & { x: number })[] = [];
  const { port, nodeOptions } = await inspectorOption();
  const measured = { NODE_OPTIONS: nodeOptions };
  const started = [];
  let probe: Probe | undefined;
  try {
    ctx.progress.update(`links (${end}): ws floor, warming up with ${warm} connections`);
    const server = await startNodeProcess(
      'ws floor server',
      [WS_FLOOR, 'serve'],
      end === 'accepting' ? measured : {},
    );
    started.push(server);
    const url = wordAfter(server, 'ws');
    const dialer = await startNodeProcess(
      'ws floor dialer',
      [WS_FLOOR, 'dial', url, String(warm), steps.join(',')],
      end === 'dialing' ? measured : {},
      { readyLine: (line) => line.startsWith('held ') },
    );
    started.push(dialer);
    probe = { pid: (end === 'dialing' ? dialer : server).pid };
    probe.inspector = await openInspector(probe.pid, port);
    for (const [i, step] of steps.entries()) {
      ctx.progress.update(`links (${end}): ws floor with ${step} connections`);
      if (i > 0) process.kill(dialer.pid, 'SIGUSR2');
      await waitForEstablished([Number(new URL(url).port)], step);
      await sleep(ctx.settleMs);
      readings.push({ x: step, ...(await read(ctx, probe)) });
    }
  } finally {
    await probe?.inspector?.close();
    for (const child of started.reverse()) await child.stop();
  }
  return linksRunOf(end, readings);
}
