import { Option } from 'commander';
import type { RunningService } from '../common/index.ts';

/**
 * How long a service whose supervisor is gone may take to close before it exits anyway.
 * [design] Nobody is left to send a second signal, and a close that waits on a peer that died
 * with the supervisor (discovery, auth) must not keep an orphan alive.
 */
const ORPHAN_CLOSE_LIMIT_MS = 10_000;

/**
 * `--exit-with-stdin`, for every command that serves until a signal. [design] A supervisor (the
 * testbed, the bench) spawns the service with a stdin pipe it never writes to; when the
 * supervisor dies, even by SIGKILL, the kernel closes the pipe and the service shuts down. No
 * signal can do this: a parent killed outright sends nothing to its children.
 */
export function exitWithStdinOption(): Option {
  return new Option(
    '--exit-with-stdin',
    'shut down when stdin closes (for a supervising process that holds the pipe)',
  )
    .env('MQFED_EXIT_WITH_STDIN')
    .default(false);
}

export interface ServeOptions {
  /** Shut down, as on SIGTERM, when stdin reaches its end or fails. */
  exitWithStdin?: boolean;
}

/**
 * Keeps a started service running until SIGINT or SIGTERM, then closes it cleanly and exits 0.
 * A second signal while closing exits at once with 130, as people expect of Ctrl-C twice.
 *
 * `announce` prints the service's URL lines. [design] It runs only once the signal handlers are
 * in place: whoever reads those lines may signal at once, and a signal that arrived before the
 * handlers would kill the process instead of closing it cleanly.
 */
export async function serveUntilSignal(
  service: RunningService,
  announce: () => void,
  options: ServeOptions = {},
): Promise<void> {
  keepNoResourceTimings();
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stderr.write(`${why}, shutting down\n`);
      service.close().then(resolve, (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', () => stop('SIGINT received'));
    process.on('SIGTERM', () => stop('SIGTERM received'));
    if (options.exitWithStdin === true) {
      const orphaned = () => {
        if (stopping) return;
        setTimeout(() => process.exit(1), ORPHAN_CLOSE_LIMIT_MS).unref();
        stop('stdin closed');
      };
      process.stdin.once('end', orphaned).once('error', orphaned).resume();
    }
    announce();
  });
  // A stdin still open (the supervisor stopped us with a signal) would keep the process alive.
  if (options.exitWithStdin === true) process.stdin.destroy();
}

/**
 * [design] Node's fetch records every request in the process's performance timeline, which keeps
 * the last 250 (with their URLs and connection timings) until someone reads them. A service
 * fetches from auth and discovery for as long as it runs and reads none of them back: without
 * this each service process held 100–350 KiB of them (a one-off check of 250 local fetches),
 * and a bench reading its memory saw them grow with every link set up. A service embedded in
 * another program leaves that program's timeline alone; this runs only in a process that serves
 * one.
 */
function keepNoResourceTimings(): void {
  performance.clearResourceTimings();
  performance.setResourceTimingBufferSize(0);
}
