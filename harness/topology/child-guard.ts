import { type ChildProcess, spawn } from 'node:child_process';
import type { Socket } from 'node:net';

/**
 * The environment that makes an `mqfed` service started by the harness end with it: the service
 * shuts down when its stdin, a pipe only the harness holds, closes (`--exit-with-stdin`).
 */
export const EXIT_WITH_HARNESS_ENV = { MQFED_EXIT_WITH_STDIN: '1' } as const;

/** Children to kill if this process exits while they run. */
const running = new Set<ChildProcess>();

function killRunningNow(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Keeps `child` from outliving the harness, whatever ends the harness. [design] Three layers,
 * each for what the one before cannot reach:
 * 1. its owner stops it (a topology's `close`): the clean path, with SIGTERM first;
 * 2. when this process exits (the run ends, `process.exit`, a test worker winding down), a
 *    synchronous SIGKILL from the 'exit' handler, the only kind of work that handler can do;
 * 3. when this process dies without running any code (SIGKILL, the OOM killer, a test worker
 *    torn down after a timeout): an `mqfed` service spawned with a stdin pipe and
 *    EXIT_WITH_HARNESS_ENV sees the pipe close and shuts down (`exitsWithStdin`); a program we do
 *    not control (Mosquitto) gets a watchdog, a shell that holds the other end of such a pipe and
 *    SIGKILLs the child once it closes. The watchdog ends when the child does.
 */
export function guardChild(child: ChildProcess, options: { exitsWithStdin: boolean }): void {
  if (child.pid === undefined) return;
  if (running.size === 0) process.on('exit', killRunningNow);
  running.add(child);
  const watchdog = options.exitsWithStdin ? undefined : startWatchdog(child.pid);
  child.once('exit', () => {
    running.delete(child);
    // At once, before the pid can be reused: a watchdog must never kill a stranger.
    watchdog?.kill('SIGKILL');
    if (running.size === 0) process.off('exit', killRunningNow);
  });
}

function startWatchdog(pid: number): ChildProcess {
  const watchdog = spawn(
    '/bin/sh',
    // `read` returns when stdin closes: the harness is gone. $1 is the guarded pid.
    ['-c', 'read -r _; kill -KILL "$1" 2>/dev/null', 'mqfed-watchdog', String(pid)],
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  // It must never keep the harness running, nor fail it: a missing shell leaves layers 1 and 2.
  watchdog.on('error', () => undefined);
  watchdog.unref();
  (watchdog.stdin as Socket | null)?.unref();
  return watchdog;
}
