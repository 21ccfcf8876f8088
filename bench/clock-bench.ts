// `node bench/clock-bench.ts --host process|container|thread`: how well the harness reads a
// client host's clock on this machine. It starts one client host (a `mqfed client-host` process,
// a container of the mqfed image, or a worker thread), and reads its clock over and over with
// 8, 16, 32 and 64 exchanges a reading: the round trip the offset was read over, its error bound
// (half of it), the spread of the offsets (one kernel clock: the true offset is constant) and
// what a reading costs. See docs/results.md, "Clocks across hosts".
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Command, Option } from 'commander';
import { MQFED_IMAGE } from '../harness/index.ts';
import { quantileOfSorted } from '../harness/results/index.ts';
import { readClockOffset } from '../harness/seams/clock-exchange.ts';
import { nowMs } from '../harness/seams/run-clock.ts';
import {
  type SkewedClientHost,
  startClientHostThread,
} from '../harness/skewed-client-hosts.fixtures.ts';
import { startClientHostServer } from '../harness/topology/client-host-server.ts';
import { startServiceProcess } from '../harness/topology/service-process.ts';
import { positiveInt } from './flag-parsers.ts';

const run = promisify(execFile);

const flags = new Command('clock-bench')
  .description("Measure the client host clock reading's round trip and error bound")
  .addOption(
    new Option('--host <kind>', 'where the client host runs')
      .choices(['process', 'container', 'thread'])
      .default('process'),
  )
  .option('--readings <n>', 'readings per number of exchanges', positiveInt, 50)
  .parse()
  .opts<{ host: 'process' | 'container' | 'thread'; readings: number }>();

/** The docker0 bridge's gateway: where a container of the default network reaches this machine. */
async function bridgeGateway(): Promise<string> {
  const { stdout } = await run('docker', [
    'network',
    'inspect',
    'bridge',
    '--format',
    '{{(index .IPAM.Config 0).Gateway}}',
  ]);
  return stdout.trim();
}

async function startHost(url: string): Promise<SkewedClientHost> {
  if (flags.host === 'thread') return startClientHostThread(url, 0);
  if (flags.host === 'process') {
    const child = await startServiceProcess('client host', ['client-host', '--harness', url]);
    return { close: () => child.stop() };
  }
  const { stdout } = await run('docker', [
    'run',
    '--rm',
    '--detach',
    '--label',
    'mqfed.bench=clock',
    '--env',
    `MQFED_HARNESS_URL=${url}`,
    MQFED_IMAGE,
    'client-host',
  ]);
  const id = stdout.trim();
  return {
    close: async () => {
      await run('docker', ['rm', '--force', id]).catch(() => undefined);
    },
  };
}

const fixed = (value: number, digits = 3) => value.toFixed(digits);

const listenOn = flags.host === 'container' ? await bridgeGateway() : '127.0.0.1';
const server = await startClientHostServer(listenOn);
let host: SkewedClientHost | undefined;
try {
  host = await startHost(server.urlFor('bench'));
  const remote = await server.connected('bench');
  const ask = async () => (await remote.request({ op: 'clock' })) as number;
  process.stdout.write(
    `client host: ${flags.host}; ${flags.readings} readings per row; ms\n` +
      'exchanges  rtt min  rtt p50  rtt max  bound p50  bound max  offset spread  reading took p50\n',
  );
  for (const rounds of [8, 16, 32, 64]) {
    const rtts: number[] = [];
    const offsets: number[] = [];
    const took: number[] = [];
    for (let reading = 0; reading < flags.readings; reading++) {
      const began = nowMs();
      const result = await readClockOffset(ask, {
        minRounds: rounds,
        maxRounds: rounds,
        budgetMs: Number.POSITIVE_INFINITY,
      });
      took.push(nowMs() - began);
      rtts.push(result.roundTripMs);
      offsets.push(result.offsetMs);
    }
    for (const list of [rtts, took]) list.sort((x, y) => x - y);
    const spread = Math.max(...offsets) - Math.min(...offsets);
    process.stdout.write(
      `${String(rounds).padStart(9)}  ${[
        rtts[0]!,
        quantileOfSorted(rtts, 0.5),
        rtts.at(-1)!,
        quantileOfSorted(rtts, 0.5) / 2,
        rtts.at(-1)! / 2,
      ]
        .map((value) => fixed(value).padStart(7))
        .join(
          '  ',
        )}  ${fixed(spread).padStart(13)}  ${fixed(quantileOfSorted(took, 0.5)).padStart(16)}\n`,
    );
  }
} finally {
  await server.close();
  await host?.close();
}
