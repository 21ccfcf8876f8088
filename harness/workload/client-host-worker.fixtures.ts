import { parentPort, workerData } from 'node:worker_threads';
import { setClockSkewMs } from '../seams/run-clock.ts';
import { runClientHost } from './client-host-agent.ts';

/**
 * A client host in a worker thread of the test process (skewed-client-hosts.fixtures.ts starts
 * it): the real agent, over its real WebSocket, with a clock of its own. [design] A thread, not
 * the harness's own thread: the run's clock is per thread, so this one can be skewed without
 * moving the harness's; and it starts in a fraction of a process's time.
 */
const port = parentPort;
if (port === null) throw new Error('client-host-worker.fixtures.ts runs in a worker thread');
const { url, skewMs } = workerData as { url: string; skewMs: number };

// The test hook: a new skew, at once (the clock jumps, as a stepped clock would).
port.on('message', (message: { skewMs: number }) => {
  setClockSkewMs(message.skewMs);
  port.postMessage({ skewed: message.skewMs });
});
await runClientHost(url, () => port.postMessage({ ready: true }), { clockSkewMs: skewMs });
port.close();
